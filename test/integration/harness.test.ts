// The harness itself: a real registry answers, busybox is seeded by skopeo, a per-test store is made
// and removed, and a command runs as the unprivileged user. If any of that broke, every later suite
// would be meaningless, so it is checked on its own first.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import {
  requirePrerequisites,
  sharedRegistry,
  runAsUnprivileged,
  useTempStrataHome,
  isRoot,
  SINGLE_ID_USER,
  uidOf,
} from '../support';

describe('test harness', function () {
  before(function () {
    requirePrerequisites(this, { commands: ['docker-registry', 'skopeo', 'umoci'] });
  });

  it('serves busybox from a real registry on loopback', async function () {
    const reg = await sharedRegistry();
    const res = await fetch(`${reg.url}/v2/library/busybox/manifests/latest`, {
      headers: { Accept: 'application/vnd.oci.image.manifest.v1+json' },
    });
    assert.equal(res.status, 200);
    const manifest = (await res.json()) as { layers: { digest: string; size: number }[] };
    assert.equal(manifest.layers.length, 1);
    const blob = await fetch(`${reg.url}/v2/library/busybox/blobs/${manifest.layers[0].digest}`, {
      method: 'HEAD',
    });
    assert.equal(blob.status, 200);
  });

  const env = useTempStrataHome();
  it('gives each test its own STRATA_HOME and workspace', function () {
    assert.equal(process.env.STRATA_HOME, env.home);
    assert.ok(fs.statSync(env.home).isDirectory());
    assert.ok(fs.statSync(env.workspace).isDirectory());
  });

  it('runs a command as the unprivileged test user', async function () {
    const r = await runAsUnprivileged('id', ['-u']);
    assert.equal(r.code, 0, r.stderr);
    const uid = Number(r.stdout.trim());
    assert.notEqual(uid, 0, 'the rootless case must not run as root');
    if (isRoot()) assert.equal(uid, uidOf(SINGLE_ID_USER));
  });
});
