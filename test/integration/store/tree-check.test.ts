// fsck's layer tree checks (store/README.md "Layer trees"): a tree records the digest of its listing
// when it is unpacked; an edit (same size), a chmod, a removed and an added file each make fsck
// report the tree, `--repair` removes it, and the next run unpacks it again from the blob. An edit
// that puts the old mtime back is found by `fsck --deep` only, which hashes files against the blob.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseDigest } from '../../../server/src/engine/digest';
import { fsck } from '../../../server/src/engine/store/fsck';
import { readLayerMeta } from '../../../server/src/engine/store/layer-trees';
import { openStore } from '../../../server/src/engine/store/store';
import {
  cliBundle,
  mirrorEnv,
  requirePrerequisites,
  runCli,
  sharedRegistry,
  strataBox,
  useTempStrataHome,
} from '../../support';

const IMAGE = 'docker.io/library/busybox:latest';

interface Corruption {
  name: string;
  /** Alters the busybox tree; returns what `cat /etc/passwd` must print after the re-unpack. */
  apply(tree: string): void;
}

const CORRUPTIONS: Corruption[] = [
  {
    name: 'a content change of the same size',
    apply: (tree) => {
      const f = path.join(tree, 'etc/passwd');
      const text = fs.readFileSync(f, 'utf8');
      fs.writeFileSync(f, text.replace('root:x:0:0', 'evil:x:0:0'));
    },
  },
  { name: 'a chmod', apply: (tree) => fs.chmodSync(path.join(tree, 'etc/passwd'), 0o666) },
  { name: 'a removed file', apply: (tree) => fs.rmSync(path.join(tree, 'etc/group')) },
  { name: 'an added file', apply: (tree) => fs.writeFileSync(path.join(tree, 'etc/planted'), 'x') },
  {
    name: 'a symlink pointed elsewhere',
    apply: (tree) => {
      fs.rmSync(path.join(tree, 'bin/ls'));
      fs.symlinkSync('/bin/true', path.join(tree, 'bin/ls'));
    },
  },
];

describe('fsck: layer trees against their listing and their blob', function () {
  before(function () {
    requirePrerequisites(this, {
      commands: ['docker-registry', 'skopeo', 'umoci'],
      files: [strataBox, cliBundle],
    });
  });
  const env = useTempStrataHome();

  async function cli(args: string[]) {
    const reg = await sharedRegistry();
    return runCli(args, { env: { STRATA_HOME: env.home, ...mirrorEnv(reg.host) }, timeoutMs: 120000 });
  }

  /** Pulls busybox, runs it once (which unpacks it) and returns its one tree. */
  async function unpackedBusybox(): Promise<{ tree: string; passwd: string }> {
    const run = await cli(['run', '--image', IMAGE, '--', 'cat', '/etc/passwd']);
    assert.equal(run.code, 0, run.stderr);
    const store = openStore(env.home);
    const image = await store.resolveImage(IMAGE);
    assert.equal(image.layers.length, 1);
    const tree = store.layerTree(image.layers[0]!.diffId);
    assert.ok(tree, 'the run unpacked the layer');
    assert.ok(readLayerMeta(store, image.layers[0]!.diffId)?.listing, 'the unpack recorded a listing');
    return { tree, passwd: run.stdout };
  }

  it('each kind of change is reported, --repair removes the tree and the next run unpacks it again', async function () {
    for (const c of CORRUPTIONS) {
      const { tree, passwd } = await unpackedBusybox();
      const hex = path.basename(tree);
      assert.deepEqual((await fsck(openStore(env.home))).problems, [], `clean before ${c.name}`);
      c.apply(tree);

      const found = await cli(['fsck']);
      assert.equal(found.code, 1, `fsck exits 1 after ${c.name}:\n${found.stdout}`);
      assert.match(found.stdout, new RegExp(`problem: layer tree ${hex}: .*\\(altered\\)`), c.name);

      const repaired = await cli(['fsck', '--repair']);
      assert.equal(repaired.code, 0, `${c.name}: ${repaired.stdout}${repaired.stderr}`);
      assert.match(repaired.stdout, new RegExp(`repaired: layer tree ${hex}`));
      assert.ok(!fs.existsSync(tree), `--repair removed the tree after ${c.name}`);

      const again = await cli([
        'run',
        '--image',
        IMAGE,
        '--',
        'sh',
        '-c',
        'cat /etc/passwd; ls -l /etc/passwd',
      ]);
      assert.equal(again.code, 0, again.stderr);
      assert.equal(
        again.stdout.slice(0, passwd.length),
        passwd,
        `the re-unpacked tree is the original (${c.name})`,
      );
      assert.match(again.stdout.slice(passwd.length), /^-rw-r--r-- /, 'and so is its mode');
      assert.ok(fs.existsSync(tree), 'the next run unpacked it again');
      assert.equal((await cli(['fsck'])).code, 0, `clean after the re-unpack (${c.name})`);
    }
  });

  it('an edit that puts the old mtime back is found by --deep, against the layer blob', async function () {
    const { tree } = await unpackedBusybox();
    const hex = path.basename(tree);
    const f = path.join(tree, 'etc/passwd');
    const st = fs.statSync(f);
    fs.writeFileSync(f, fs.readFileSync(f, 'utf8').replace('root', 'toor'));
    fs.utimesSync(f, st.atime, st.mtime);

    assert.equal((await cli(['fsck'])).code, 0, 'the cheap check cannot see it (same size, same mtime)');
    const deep = await cli(['fsck', '--deep']);
    assert.equal(deep.code, 1, deep.stdout);
    assert.match(
      deep.stdout,
      new RegExp(
        `layer tree ${hex}: 1 file\\(s\\) differ from layer sha256:[0-9a-f]{64}: changed etc/passwd`,
      ),
    );

    fs.writeFileSync(path.join(tree, 'etc/extra'), 'planted');
    fs.rmSync(path.join(tree, 'etc/group'));
    const store = openStore(env.home);
    const report = await fsck(store, { deep: true });
    // The listing check fires first for added and removed files; --deep is the content check.
    assert.match(
      report.problems.map((p) => p.message).join('\n'),
      new RegExp(`layer tree ${hex}: .*\\(altered\\)`),
    );
    const repaired = await fsck(store, { deep: true, repair: true });
    assert.equal(repaired.repaired, 1);
    assert.deepEqual((await fsck(store, { deep: true })).problems, []);
    const image = await store.resolveImage(IMAGE);
    assert.equal(store.layerTree(image.layers[0]!.diffId), undefined, 'gone until the next run unpacks it');
    assert.ok(store.hasBlob(parseDigest(image.layers[0]!.descriptor.digest)), 'the blob stays');
  });

  it('a tree a pull unpacked while downloading records its listing too, so fsck sees a chmod in it', async function () {
    const pulled = await cli(['pull', IMAGE]);
    assert.equal(pulled.code, 0, pulled.stderr);
    const store = openStore(env.home);
    const image = await store.resolveImage(IMAGE);
    const diffId = image.layers[0]!.diffId;
    const tree = store.layerTree(diffId);
    assert.ok(tree, 'strata pull unpacked the layer');
    assert.ok(readLayerMeta(store, diffId)?.listing, 'the pull recorded a listing');
    assert.equal((await fsck(store)).countsOnly, 0, 'no tree is checked by counts alone');
    fs.chmodSync(path.join(tree, 'etc/passwd'), 0o600);
    const found = await cli(['fsck']);
    assert.equal(found.code, 1, found.stdout);
    assert.match(found.stdout, new RegExp(`problem: layer tree ${path.basename(tree)}: .*\\(altered\\)`));
  });
});
