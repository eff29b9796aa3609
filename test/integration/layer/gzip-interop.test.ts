// A layer written from real workspace files by the parallel gzip: the same digest with one worker
// and with several, and outside tools as judges of the bytes: `gzip -t`, `tar -tzf` and `tar -xzf`
// (GNU), skopeo and umoci (Go's gzip and tar) read it back to the same files; our own reader
// verifies the digest and the diff_id.
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseDigest } from '../../../server/src/engine/digest';
import { putImage } from '../../../server/src/engine/image/builder';
import { GZIP_BLOCK } from '../../../server/src/engine/layer/gzip';
import { readLayer } from '../../../server/src/engine/layer/read';
import { workspaceEntries } from '../../../server/src/engine/layer/workspace';
import { writeLayer, WrittenLayer } from '../../../server/src/engine/layer/write';
import { openStore, Store } from '../../../server/src/engine/store/store';
import { isRoot, makeTempDir, removeTree, requirePrerequisites } from '../../support';

/** Deterministic bytes: `kind` 'text' compresses well, 'noise' not at all. */
function content(kind: 'text' | 'noise', length: number, seed: number): Buffer {
  const b = Buffer.alloc(length);
  let x = seed;
  for (let i = 0; i < length; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    b[i] = kind === 'noise' ? x >>> 24 : 'abcdefgh \n'.charCodeAt((x >>> 16) % 10);
  }
  return b;
}

/** A small project tree that crosses block boundaries in every way a layer can. */
function makeTree(root: string): void {
  const put = (rel: string, data: Buffer | string, mode = 0o644) => {
    fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    fs.writeFileSync(path.join(root, rel), data, { mode });
  };
  put('README.md', '# a research project\n');
  put('empty', '');
  put('bin/run.sh', '#!/bin/sh\nexec python3 main.py "$@"\n', 0o755);
  put('data/big-text.csv', content('text', 3 * GZIP_BLOCK + 12_345, 1));
  put('data/noise.bin', content('noise', 2 * GZIP_BLOCK + 777, 2));
  put('data/exactly-one-block', content('text', GZIP_BLOCK, 3));
  for (let i = 0; i < 200; i++) put(`src/pkg${i % 7}/module${i}.py`, `def f${i}():\n    return ${i}\n`);
  put(`deep/${'long-folder-name/'.repeat(8)}file-with-a-name-past-100-bytes.txt`, 'long');
  put('unicodé/naïve.txt', 'utf-8 names');
  fs.symlinkSync('../README.md', path.join(root, 'bin', 'readme-link'));
  fs.linkSync(path.join(root, 'README.md'), path.join(root, 'src', 'README-hardlink.md'));
}

/** Names, kinds and contents of a tree, to compare what tools unpacked with the source. */
function fingerprint(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const name of fs.readdirSync(d).sort()) {
      const p = path.join(d, name);
      const st = fs.lstatSync(p);
      const rel = path.relative(dir, p);
      if (st.isSymbolicLink()) out.push(`${rel} -> ${fs.readlinkSync(p)}`);
      else if (st.isDirectory()) {
        out.push(`${rel}/`);
        walk(p);
      } else out.push(`${rel} ${createHash('sha256').update(fs.readFileSync(p)).digest('hex').slice(0, 16)}`);
    }
  };
  walk(dir);
  return out;
}

describe('parallel gzip layers judged by outside tools', function () {
  this.timeout(120_000);
  let work: string;
  let tree: string;
  let stores: Store[];
  let layers: WrittenLayer[];

  before(async function () {
    requirePrerequisites(this, { commands: ['gzip', 'tar', 'skopeo', 'umoci'] });
    work = makeTempDir('gzip-interop');
    tree = path.join(work, 'project');
    makeTree(tree);
    stores = [];
    layers = [];
    for (const workers of [1, 3]) {
      const store = openStore(path.join(work, `home-${workers}`));
      stores.push(store);
      layers.push(
        await writeLayer(store, workspaceEntries({ root: work, src: 'project', dest: '/', epoch: 0 }), {
          workers,
        }),
      );
    }
  });

  after(() => {
    if (work) removeTree(work);
  });

  it('has the same digest, diff_id and size with 1 worker and with 3', () => {
    const [one, three] = layers;
    assert.equal(three!.descriptor.digest, one!.descriptor.digest);
    assert.equal(three!.diffId.toString(), one!.diffId.toString());
    assert.equal(three!.descriptor.size, one!.descriptor.size);
    assert.ok(one!.uncompressedSize > 5 * GZIP_BLOCK, 'the layer spans several gzip blocks');
  });

  it('passes gzip -t, and tar -tzf lists every entry', () => {
    const blob = stores[0]!.blobPath(parseDigest(layers[0]!.descriptor.digest));
    execFileSync('gzip', ['-t', blob]);
    const names = execFileSync('tar', ['-tzf', blob], { encoding: 'utf8' }).trim().split('\n');
    assert.equal(names.length, layers[0]!.entries);
    assert.ok(names.includes('data/noise.bin'));
    assert.ok(names.some((n) => n.endsWith('file-with-a-name-past-100-bytes.txt')));
  });

  it('unpacks with tar -xzf to the same files', () => {
    const out = path.join(work, 'tar-out');
    fs.mkdirSync(out);
    execFileSync('tar', ['-xzf', stores[0]!.blobPath(parseDigest(layers[0]!.descriptor.digest)), '-C', out]);
    assert.deepEqual(fingerprint(out), fingerprint(tree));
  });

  it('reads back through the layer reader with digest and diff_id verified', async () => {
    const layer = layers[0]!;
    let files = 0;
    const digest = parseDigest(layer.descriptor.digest);
    for await (const { entry, data } of readLayer([await stores[0]!.readBlob(digest)], {
      compression: 'gzip',
      where: 'interop layer',
      digest,
      diffId: layer.diffId,
    })) {
      if (entry.type === 'file') files++;
      if (data && !(data instanceof Uint8Array)) for await (const _ of data) void _;
    }
    assert.ok(files > 200);
  });

  it('is read by skopeo and unpacked by umoci to the same files', async () => {
    const store = stores[0]!;
    const layer = layers[0]!;
    await putImage(
      store,
      {
        architecture: 'amd64',
        os: 'linux',
        layers: [{ descriptor: layer.descriptor, diffId: layer.diffId }],
      },
      'strata/interop',
    );
    const image = `${path.join(store.home, 'oci')}:strata/interop`;
    const inspect = JSON.parse(execFileSync('skopeo', ['inspect', `oci:${image}`], { encoding: 'utf8' }));
    assert.deepEqual(inspect.Layers, [layer.descriptor.digest]);
    const bundle = path.join(work, 'bundle');
    execFileSync('umoci', ['unpack', ...(isRoot() ? [] : ['--rootless']), '--image', image, bundle]);
    assert.deepEqual(fingerprint(path.join(bundle, 'rootfs')), fingerprint(tree));
  });
});
