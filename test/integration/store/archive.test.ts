// import and export against the archives other tools make and read: skopeo (oci-archive and
// docker-archive), podman save and podman load.
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { validateImage } from '../../../server/src/engine/image/validate';
import { openStore } from '../../../server/src/engine/store/store';
import {
  cliBundle,
  isRoot,
  makeTempDir,
  removeTree,
  SINGLE_ID_USER,
  uidOf,
  requirePrerequisites,
  runCli,
  sharedRegistry,
  strataBox,
  useTempStrataHome,
} from '../../support';
import { makeDemoImage } from './helpers';

function podman(root: string, args: string[]): string {
  return execFileSync(
    'podman',
    [
      '--root',
      path.join(root, 'root'),
      '--runroot',
      path.join(root, 'run'),
      '--storage-driver',
      'vfs',
      '--runtime',
      'runc',
      '--cgroup-manager',
      'cgroupfs',
      '--events-backend',
      'file',
      ...args,
    ],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
  );
}

describe('import and export (skopeo, podman)', function () {
  this.timeout(300_000);
  let registry: string;
  before(async function () {
    requirePrerequisites(this, { commands: ['skopeo', 'podman'], files: [strataBox, cliBundle] });
    registry = (await sharedRegistry()).host;
  });
  const env = useTempStrataHome();
  const cli = (args: string[]) => runCli(args, { env: { STRATA_HOME: env.home }, cwd: env.workspace });

  it('imports oci-archive and docker-archive files made by skopeo, verified and unpacked', async () => {
    const oci = path.join(env.workspace, 'bb-oci.tar');
    const docker = path.join(env.workspace, 'bb-docker.tar');
    const src = `docker://${registry}/library/busybox:latest`;
    execFileSync('skopeo', [
      'copy',
      '-q',
      '--src-tls-verify=false',
      src,
      `oci-archive:${oci}:tools/busybox:1`,
    ]);
    execFileSync('skopeo', [
      'copy',
      '-q',
      '--src-tls-verify=false',
      src,
      `docker-archive:${docker}:busybox:latest`,
    ]);
    const a = await cli(['import', 'bb-oci.tar']);
    assert.equal(a.code, 0, a.stderr);
    assert.match(a.stdout, /imported tools\/busybox:1 sha256:[0-9a-f]{64} \(oci-archive\)/);
    const b = await cli(['import', '--json', 'bb-docker.tar']);
    assert.equal(b.code, 0, b.stderr);
    assert.equal(JSON.parse(b.stdout.trim().split('\n').pop()!).name, 'docker.io/library/busybox:latest');
    execFileSync('sh', ['-c', `gzip -c ${oci} > ${oci}.gz`]);
    const c = await cli(['import', '--json', '--name', 'tools/gz', 'bb-oci.tar.gz']);
    assert.equal(c.code, 0, c.stderr);
    const events = c.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; name?: string; read?: number; total?: number });
    assert.equal(events.at(-1)!.name, 'tools/gz');
    assert.ok(
      events.some((e) => e.type === 'progress' && e.read === e.total),
      'progress events end at the full size',
    );
    const store = openStore(env.home);
    for (const name of ['tools/busybox:1', 'docker.io/library/busybox:latest', 'tools/gz']) {
      const img = await store.resolveImage(name);
      assert.deepEqual(await validateImage(store, img.descriptor, { deep: true }), [], name);
      for (const l of img.layers) assert.ok(store.layerTree(l.diffId), `${name} unpacked`);
      assert.ok(fs.existsSync(path.join(store.layerTree(img.layers[0]!.diffId)!, 'bin', 'busybox')));
    }
  });

  it('exports oci archives skopeo reads and podman loads, docker archives podman loads; both deterministic', async () => {
    const store = openStore(env.home);
    const img = await makeDemoImage(store, env.workspace);
    for (const format of ['oci', 'docker']) {
      const r = await cli(['export', '--format', format, 'strata/demo', `demo-${format}.tar`]);
      assert.equal(r.code, 0, r.stderr);
      const again = await cli(['export', '--format', format, 'strata/demo', `demo-${format}-2.tar`]);
      assert.equal(again.code, 0, again.stderr);
      assert.ok(
        fs
          .readFileSync(path.join(env.workspace, `demo-${format}.tar`))
          .equals(fs.readFileSync(path.join(env.workspace, `demo-${format}-2.tar`))),
        `${format} export is byte-for-byte repeatable`,
      );
    }
    const ociFile = path.join(env.workspace, 'demo-oci.tar');
    const inspect = JSON.parse(
      execFileSync('skopeo', ['inspect', `oci-archive:${ociFile}`], { encoding: 'utf8' }),
    ) as { Digest: string };
    assert.equal(inspect.Digest, img.manifest.digest);
    const podmanRoot = path.join(env.workspace, 'podman');
    assert.match(podman(podmanRoot, ['load', '-i', ociFile]), /Loaded image: .*strata\/demo/);
    assert.match(
      podman(podmanRoot, ['load', '-i', path.join(env.workspace, 'demo-docker.tar')]),
      /Loaded image: docker\.io\/strata\/demo:latest/,
    );
    const listed = podman(podmanRoot, ['images', '--format', '{{.Repository}}:{{.Tag}}']);
    assert.match(listed, /docker\.io\/strata\/demo:latest/);
    // And back: what podman saves, we import.
    const saved = path.join(env.workspace, 'podman-save.tar');
    podman(podmanRoot, ['save', '--format', 'docker-archive', '-o', saved, 'docker.io/strata/demo:latest']);
    const back = await cli(['import', '--name', 'strata/roundtrip', 'podman-save.tar']);
    assert.equal(back.code, 0, back.stderr);
    const roundtrip = await store.resolveImage('strata/roundtrip');
    assert.deepEqual(
      roundtrip.layers.map((l) => l.diffId.toString()),
      img.layers.map((l) => l.diffId.toString()),
      'the same layers come back',
    );
  });

  it('refuses a damaged or foreign archive clearly and names nothing', async () => {
    fs.writeFileSync(path.join(env.workspace, 'junk.tar'), 'this is not a tar archive at all'.repeat(40));
    const junk = await cli(['import', 'junk.tar']);
    assert.equal(junk.code, 1);
    assert.match(junk.stderr, /junk\.tar/);
    const store = openStore(env.home);
    await makeDemoImage(store, env.workspace);
    assert.equal((await cli(['export', 'strata/demo', 'good.tar'])).code, 0);
    // Flip a byte inside the first layer blob of the archive: its digest no longer matches its name.
    const good = fs.readFileSync(path.join(env.workspace, 'good.tar'));
    const img = await store.resolveImage('strata/demo');
    const layerHex = img.layers[0]!.descriptor.digest.slice(7);
    const at = good.indexOf(Buffer.from(`blobs/sha256/${layerHex}`));
    assert.ok(at >= 0);
    good[at + 512 + 100] ^= 0xff; // inside the blob's data, after its header
    fs.writeFileSync(path.join(env.workspace, 'bad.tar'), good);
    const home2 = path.join(env.workspace, 'home2');
    const bad = await runCli(['import', 'bad.tar'], { env: { STRATA_HOME: home2 }, cwd: env.workspace });
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /digest mismatch/);
    assert.match(bad.stderr, new RegExp(layerHex));
    assert.deepEqual(openStore(home2).listImages(), []);
    const missing = await cli(['export', 'strata/nope', 'x.tar']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /no image named strata\/nope/);
    assert.ok(!fs.existsSync(path.join(env.workspace, 'x.tar')));
  });

  it('works rootless: import, unpack through strata-box apply, export, gc and fsck as an unprivileged user', async () => {
    // As root: as the test user. Run by a user already: as that user.
    const user = isRoot() ? SINGLE_ID_USER : undefined;
    const dir = makeTempDir('rootless');
    try {
      const uid = user ? uidOf(user) : process.getuid!();
      fs.chownSync(dir, uid, uid);
      const archive = path.join(dir, 'bb.tar');
      execFileSync('skopeo', [
        'copy',
        '-q',
        '--src-tls-verify=false',
        `docker://${registry}/library/busybox:latest`,
        `oci-archive:${archive}:bb:1`,
      ]);
      fs.chownSync(archive, uid, uid);
      const e = { STRATA_HOME: path.join(dir, 'home') };
      const as = (args: string[]) => runCli(args, { user, env: e, cwd: dir });
      const imported = await as(['import', archive]);
      assert.equal(imported.code, 0, imported.stdout + imported.stderr);
      const exported = await as(['export', 'bb:1', path.join(dir, 'out.tar')]);
      assert.equal(exported.code, 0, exported.stderr);
      assert.equal((await as(['gc'])).code, 0);
      const checked = await as(['fsck', '--json']);
      assert.equal(checked.code, 0, checked.stdout + checked.stderr);
      const tree = fs
        .readdirSync(path.join(dir, 'home', 'layers', 'sha256'))
        .find((n) => !n.endsWith('.json'))!;
      const busybox = fs.statSync(path.join(dir, 'home', 'layers', 'sha256', tree, 'bin', 'busybox'));
      assert.equal(busybox.uid, uid, 'files of the tree belong to the user');
    } finally {
      removeTree(dir);
    }
  });
});
