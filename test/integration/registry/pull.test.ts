// Pulls from the real registry on loopback (seeded by umoci and skopeo), reached as a mirror of
// docker.io so the refs are the ones users write.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  cliBundle,
  ensureTestUsers,
  isRoot,
  makeTempDir,
  mirrorEnv,
  SINGLE_ID_USER,
  uidOf,
  removeTree,
  requirePrerequisites,
  runCli,
  sharedRegistry,
  useTempStrataHome,
  type Registry,
} from '../../support';
import { RegistryClient } from '../../../server/src/engine/registry/client';
import { pullImage } from '../../../server/src/engine/registry/pull';
import { openStore } from '../../../server/src/engine/store/store';
import { parseDigest } from '../../../server/src/engine/digest';
import { listFiles, remoteDigest, run, useIsolatedRegistryEnv } from './helpers/env';

describe('registry: pull', function () {
  let reg: Registry;
  const home = useTempStrataHome();
  const iso = useIsolatedRegistryEnv();
  before(async function () {
    requirePrerequisites(this, { commands: ['docker-registry', 'skopeo', 'umoci'], files: [cliBundle] });
    reg = await sharedRegistry();
  });
  const env = () => ({ ...iso.vars, ...mirrorEnv(reg.host), STRATA_HOME: home.home });

  it('pulls busybox by tag and names it by its full reference', async function () {
    const want = await remoteDigest(reg.host, 'library/busybox:latest');
    const r = await runCli(['pull', 'busybox'], { env: env() });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`pulled docker.io/library/busybox:latest ${want}`));
    const index = JSON.parse(fs.readFileSync(path.join(home.home, 'oci', 'index.json'), 'utf8')) as {
      manifests: { digest: string; annotations: Record<string, string> }[];
    };
    const entry = index.manifests.find(
      (m) => m.annotations['org.opencontainers.image.ref.name'] === 'docker.io/library/busybox:latest',
    );
    assert.equal(entry?.digest, want);
    // The layer is unpacked into the store's layer trees, ready to be an overlay lowerdir.
    const image = await openStore(home.home).resolveImage('docker.io/library/busybox:latest');
    const tree = path.join(home.home, 'layers', 'sha256', image.layers[0]!.diffId.hex);
    assert.ok(fs.statSync(path.join(tree, 'bin', 'busybox')).size > 100_000);
    assert.equal(fs.readlinkSync(path.join(tree, 'bin', 'sh')), 'busybox');
    // skopeo (an outside judge) reads the image from our store.
    const { stdout } = await run('skopeo', [
      'inspect',
      `oci:${home.home}/oci:docker.io/library/busybox:latest`,
    ]);
    assert.equal((JSON.parse(stdout) as { Layers: string[] }).Layers.length, 1);
  });

  it('does not download again what the store already has', async function () {
    const store = openStore(home.home);
    const client = new RegistryClient({ env: env() });
    const first = await pullImage('docker.io/library/busybox:latest', { store, client });
    assert.ok(first.bytesDownloaded > 1_000_000);
    const again = await pullImage('busybox:1.35', { store, client });
    assert.equal(again.digest, first.digest);
    assert.equal(again.bytesDownloaded, 0);
    assert.deepEqual(
      store.listImages().map((i) => i.name),
      ['docker.io/library/busybox:1.35', 'docker.io/library/busybox:latest'],
    );
    // unpack: false (--no-unpack) fetches and verifies only.
    const other = openStore(`${home.home}-nounpack`);
    try {
      const r = await pullImage('busybox', { store: other, client, unpack: false });
      assert.equal(other.layerTree(parseDigest(r.layers[0]!.diffId)), undefined);
      assert.ok(other.hasBlob(parseDigest(r.layers[0]!.digest)));
    } finally {
      removeTree(`${home.home}-nounpack`);
    }
  });

  it('pulls by digest and names the image by that digest', async function () {
    const digest = await remoteDigest(reg.host, 'library/busybox:latest');
    const r = await runCli(['pull', '--json', `busybox@${digest}`], { env: env() });
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout
      .trim()
      .split('\n')
      .map(
        (l) =>
          JSON.parse(l) as { type: string; name?: string; digest?: string; done?: number; total?: number },
      );
    const result = lines.at(-1)!;
    assert.equal(result.type, 'result');
    assert.equal(result.name, `docker.io/library/busybox@${digest}`);
    assert.equal(result.digest, digest);
    // Byte progress events end with the full size of each blob.
    const blobs = lines.filter((l) => l.type === 'blob');
    assert.ok(blobs.length >= 2);
    assert.ok(blobs.some((b) => b.done === b.total && b.total! > 1_000_000));
  });

  it('pulls and unpacks as an unprivileged user (rootless)', async function () {
    ensureTestUsers();
    const dir = makeTempDir('rootless-pull');
    try {
      const userHome = path.join(dir, 'home');
      if (isRoot()) {
        fs.chownSync(dir, uidOf(SINGLE_ID_USER), uidOf(SINGLE_ID_USER));
        fs.chmodSync(dir, 0o755);
      }
      const r = await runCli(['pull', 'busybox'], {
        user: SINGLE_ID_USER,
        env: { ...mirrorEnv(reg.host), STRATA_HOME: userHome, DOCKER_CONFIG: path.join(dir, 'docker') },
      });
      assert.equal(r.code, 0, r.stderr);
      const image = await openStore(userHome).resolveImage('docker.io/library/busybox:latest');
      const tree = path.join(userHome, 'layers', 'sha256', image.layers[0]!.diffId.hex);
      assert.ok(fs.statSync(path.join(tree, 'bin', 'busybox')).isFile());
      if (isRoot())
        assert.equal(fs.statSync(path.join(userHome, 'oci', 'index.json')).uid, uidOf(SINGLE_ID_USER));
    } finally {
      removeTree(dir);
    }
  });

  it('says clearly when a tag does not exist, and names nothing', async function () {
    const r = await runCli(['pull', 'busybox:no-such-tag'], { env: env() });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /docker\.io\/library\/busybox:no-such-tag/);
    assert.match(r.stderr, /not found/);
    assert.match(r.stderr, /hint:/);
    assert.doesNotMatch(r.stderr, /at .*\.js:\d+/, 'no stack trace for a user error');
    assert.deepEqual(listFiles(path.join(home.home, 'oci', 'blobs')), []);
  });

  it('refuses a malformed reference before any network access', async function () {
    const r = await runCli(['pull', 'Busybox:latest'], { env: env() });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /invalid image reference "Busybox:latest"/);
    assert.match(r.stderr, /hint: repository names must be lowercase: write "busybox"/);
  });

  it('says which places it tried when the registry is unreachable', async function () {
    const r = await runCli(['pull', '127.0.0.1:9/nothing:1'], {
      env: { ...env(), STRATA_REGISTRY_ATTEMPTS: '2' },
    });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /cannot reach 127\.0\.0\.1:9: connection refused \(after 2 attempts\)/);
  });
});
