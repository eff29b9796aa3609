// Outside judges: oci-image-tool, skopeo and umoci must accept the store and the images we write.
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { validateImage } from '../../../server/src/engine/image/validate';
import { ensureImageTrees } from '../../../server/src/engine/store/layer-trees';
import { openStore } from '../../../server/src/engine/store/store';
import {
  cliBundle,
  makeTempDir,
  mirrorEnv,
  removeTree,
  requirePrerequisites,
  runCli,
  sharedRegistry,
  strataBox,
  useTempStrataHome,
} from '../../support';
import { makeDemoImage } from './helpers';

describe('store interop (oci-image-tool, skopeo, umoci)', function () {
  before(function () {
    requirePrerequisites(this, {
      commands: ['oci-image-tool', 'skopeo', 'umoci'],
      files: [strataBox, cliBundle],
    });
  });
  const env = useTempStrataHome();

  it('writes an image that validateImage, oci-image-tool, skopeo and umoci accept', async () => {
    const store = openStore(env.home);
    const img = await makeDemoImage(store, env.workspace);
    assert.deepEqual(await validateImage(store, img.manifest, { deep: true }), []);
    const oci = path.join(env.home, 'oci');
    const out = execFileSync(
      'oci-image-tool',
      ['validate', '--type', 'image', '--ref', 'name=strata/demo', oci],
      { encoding: 'utf8' },
    );
    assert.match(out, /Validation succeeded/);
    const inspect = JSON.parse(
      execFileSync('skopeo', ['inspect', `oci:${oci}:strata/demo`], { encoding: 'utf8' }),
    ) as { Digest: string; Layers: string[] };
    assert.equal(inspect.Digest, img.manifest.digest);
    assert.deepEqual(
      inspect.Layers,
      img.layers.map((l) => l.descriptor.digest),
    );
    const bundle = makeTempDir('umoci');
    try {
      execFileSync('umoci', [
        'unpack',
        ...(process.getuid?.() === 0 ? [] : ['--rootless']),
        '--image',
        `${oci}:strata/demo`,
        path.join(bundle, 'b'),
      ]);
      const rootfs = path.join(bundle, 'b', 'rootfs', 'opt', 'app');
      assert.equal(fs.readFileSync(path.join(rootfs, 'a.txt'), 'utf8'), 'hello');
      assert.equal(fs.readFileSync(path.join(rootfs, 'b.txt'), 'utf8'), 'b\n');
      assert.equal(fs.existsSync(path.join(rootfs, 'gone.txt')), false, 'the whiteout of layer 2 applies');
      assert.equal(fs.readlinkSync(path.join(rootfs, 'link')), 'a.txt');
      assert.equal(fs.statSync(path.join(rootfs, 'run.sh')).mode & 0o777, 0o755);
    } finally {
      removeTree(bundle);
    }
  });

  it('unpacks the layers through strata-box apply into trees overlay can stack', async () => {
    const store = openStore(env.home);
    const img = await makeDemoImage(store, env.workspace);
    const resolved = await store.resolveImage('strata/demo');
    const trees = await ensureImageTrees(store, resolved.layers, { where: 'strata/demo' });
    assert.equal(trees.length, 2);
    assert.equal(trees[0], store.paths.layerTree(img.layers[0]!.diffId));
    assert.equal(fs.readFileSync(path.join(trees[0]!, 'opt/app/a.txt'), 'utf8'), 'hello');
    const wh = fs.lstatSync(path.join(trees[1]!, 'opt/app/gone.txt'));
    assert.ok(wh.isCharacterDevice() && wh.rdev === 0, 'a whiteout is a 0:0 character device in the tree');
    assert.deepEqual(
      fs.readdirSync(store.paths.tmp).filter((n) => n !== 'locks'),
      [],
      'no temp dir left',
    );
    // A second call finds the trees and does nothing.
    assert.deepEqual(await ensureImageTrees(store, resolved.layers), trees);
  });

  it('keeps a pulled store readable by skopeo and oci-image-tool', async () => {
    const reg = await sharedRegistry();
    const r = await runCli(['pull', 'busybox:latest'], {
      env: { ...mirrorEnv(reg.host), STRATA_HOME: env.home },
    });
    assert.equal(r.code, 0, r.stderr);
    const oci = path.join(env.home, 'oci');
    const name = 'docker.io/library/busybox:latest';
    execFileSync('oci-image-tool', ['validate', '--type', 'image', '--ref', `name=${name}`, oci], {
      encoding: 'utf8',
    });
    const inspect = JSON.parse(
      execFileSync('skopeo', ['inspect', `oci:${oci}:${name}`], { encoding: 'utf8' }),
    ) as { Layers: string[] };
    assert.equal(inspect.Layers.length, 1);
    const store = openStore(env.home);
    const img = await store.resolveImage(name);
    assert.deepEqual(await validateImage(store, img.descriptor, { deep: true }), []);
  });
});
