import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { Digester, digestOf } from '../../../server/src/engine/digest';
import type { EntryWithData, LayerEntry } from '../../../server/src/engine/layer/entry';
import { gzipParallel, GZIP_BLOCK } from '../../../server/src/engine/layer/gzip';
import { IgnoreRules } from '../../../server/src/engine/layer/ignore';
import { readLayer } from '../../../server/src/engine/layer/read';
import { diffIdOf, tarFromEntries } from '../../../server/src/engine/layer/write';
import { workspaceEntries } from '../../../server/src/engine/layer/workspace';
import { makeTempDir, removeTree } from '../../support';

async function collect(it: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of it) parts.push(c);
  return Buffer.concat(parts);
}

function sample(): EntryWithData[] {
  const base = { uid: 0, gid: 0, mtime: 2_000_000_000 };
  const long = 'opt/' + 'é'.repeat(80) + '/file';
  return [
    { entry: { ...base, type: 'dir', path: '.', mode: 0o755 } },
    { entry: { ...base, type: 'dir', path: 'etc', mode: 0o755 } },
    { entry: { ...base, type: 'opaque', path: 'etc', mode: 0 } },
    {
      entry: { ...base, type: 'file', path: 'etc/hosts', mode: 0o644, size: 5, mtime: 100 },
      data: Buffer.from('hosts'),
    },
    { entry: { ...base, type: 'whiteout', path: 'etc/old', mode: 0 } },
    { entry: { ...base, type: 'dir', path: 'opt', mode: 0o755 } },
    { entry: { ...base, type: 'dir', path: 'opt/' + 'é'.repeat(80), mode: 0o700, uid: 5000000 } },
    {
      entry: {
        ...base,
        type: 'file',
        path: long,
        mode: 0o755,
        size: 3,
        xattrs: { 'security.capability': Buffer.from([1, 0, 0xff]) },
      },
      data: Buffer.from('abc'),
    },
    { entry: { ...base, type: 'hardlink', path: 'opt/ÿ', mode: 0o755, linkname: long } },
    { entry: { ...base, type: 'symlink', path: 'usr', mode: 0o777, linkname: '/' + 'l'.repeat(200) } },
  ];
}

describe('layer writer', () => {
  it('round-trips entries through the reader, clamping times to the epoch', async () => {
    const tar = await collect(tarFromEntries(sample(), { epoch: 1_700_000_000 }));
    const back: LayerEntry[] = [];
    for await (const { entry, data } of readLayer([tar], { compression: 'none', where: 't' })) {
      if (data) for await (const _ of data as AsyncIterable<Uint8Array>) void _;
      back.push(entry);
    }
    assert.deepEqual(
      back.map((e) => [e.type, e.path, e.mtime]),
      sample()
        .slice(1)
        .map(({ entry: e }) => [
          e.type,
          e.path,
          e.type === 'whiteout' || e.type === 'opaque'
            ? Math.min(e.mtime, 1_700_000_000)
            : Math.min(e.mtime, 1_700_000_000),
        ]),
    );
    const file = back.find((e) => e.type === 'file' && e.path.endsWith('/file'))!;
    assert.deepEqual([...file.xattrs!['security.capability']!], [1, 0, 0xff]);
    assert.equal(back.find((e) => e.path === 'opt/' + 'é'.repeat(80))!.uid, 5000000);
    assert.equal(back.find((e) => e.type === 'symlink')!.linkname, '/' + 'l'.repeat(200));
  });

  it('gives the same bytes for the same entries, and different ones when an epoch differs', async () => {
    const a = await collect(tarFromEntries(sample(), { epoch: 1_700_000_000 }));
    const b = await collect(tarFromEntries(sample(), { epoch: 1_700_000_000 }));
    const c = await collect(tarFromEntries(sample(), { epoch: 1_600_000_000 }));
    assert.ok(a.equals(b));
    assert.ok(!a.equals(c));
    assert.equal(
      (await diffIdOf(sample(), { epoch: 1_700_000_000 })).diffId.toString(),
      digestOf(a).toString(),
    );
  });

  it('refuses entries out of byte order', async () => {
    const base = { uid: 0, gid: 0, mtime: 0, mode: 0o644 };
    const entries: EntryWithData[] = [
      { entry: { ...base, type: 'dir', path: 'b' } },
      { entry: { ...base, type: 'dir', path: 'a' } },
    ];
    await assert.rejects(collect(tarFromEntries(entries)), /out of byte order/);
  });

  it('gzips in parallel into one deterministic member that gunzip reads back', async () => {
    const input = Buffer.alloc(3 * GZIP_BLOCK + 12345);
    for (let i = 0; i < input.length; i++) input[i] = (i * 7919) % 251 < 40 ? i % 256 : 65;
    const d = new Digester();
    const one = await collect(gzipParallel([input], { onInput: (b) => d.update(b) }));
    const two = await collect(gzipParallel([input.subarray(0, 1000), input.subarray(1000)]));
    assert.ok(one.equals(two), 'chunking must not change the output');
    assert.ok(zlib.gunzipSync(one).equals(input));
    assert.equal(d.digest().toString(), digestOf(input).toString());
    const g6 = zlib.gzipSync(input, { level: 6 });
    assert.ok(one.length < g6.length * 1.1, `${one.length} vs gzip -6 ${g6.length}`);
    const empty = await collect(gzipParallel([]));
    assert.equal(zlib.gunzipSync(empty).length, 0);
  });
});

describe('.strataignore', () => {
  const rules = new IgnoreRules(
    ['# comment', '*.log', '/build', 'cache/', '!keep.log', 'docs/**/*.tmp', 'a?c'].join('\n'),
  );
  const cases: [string, boolean, boolean][] = [
    ['x.log', false, true],
    ['src/deep/y.log', false, true],
    ['keep.log', false, false],
    ['build', true, true],
    ['src/build', true, false],
    ['cache', true, true],
    ['cache', false, false],
    ['docs/a/b/c.tmp', false, true],
    ['docs/c.tmp', false, true],
    ['abc', false, true],
    ['abbc', false, false],
    ['main.py', false, false],
  ];
  for (const [p, isDir, expected] of cases) {
    it(`${expected ? 'ignores' : 'keeps'} ${p}${isDir ? '/' : ''}`, () =>
      assert.equal(rules.ignores(p, isDir), expected));
  }

  it('copies workspace files deterministically, honouring .strataignore', () => {
    const root = makeTempDir('ws');
    try {
      fs.mkdirSync(path.join(root, 'src', 'sub'), { recursive: true });
      fs.writeFileSync(path.join(root, 'src', 'a.py'), 'print(1)');
      fs.writeFileSync(path.join(root, 'src', 'run.sh'), '#!/bin/sh', { mode: 0o775 });
      fs.writeFileSync(path.join(root, 'src', 'debug.log'), 'noise');
      fs.writeFileSync(path.join(root, 'src', 'sub', 'b.txt'), 'b');
      fs.symlinkSync('a.py', path.join(root, 'src', 'link'));
      fs.linkSync(path.join(root, 'src', 'a.py'), path.join(root, 'src', 'z-hard.py'));
      fs.writeFileSync(path.join(root, '.strataignore'), '*.log\n');
      const list = [...workspaceEntries({ root, src: './src', dest: '/opt/app', epoch: 1000 })].map(
        ({ entry: e }) =>
          `${e.type} ${e.path} ${e.mode.toString(8)} ${e.mtime}${e.linkname ? ` -> ${e.linkname}` : ''}`,
      );
      assert.deepEqual(list, [
        'dir opt 755 1000',
        'dir opt/app 755 1000',
        'file opt/app/a.py 644 1000',
        'symlink opt/app/link 777 1000 -> a.py',
        'file opt/app/run.sh 755 1000',
        'dir opt/app/sub 755 1000',
        'file opt/app/sub/b.txt 644 1000',
        'hardlink opt/app/z-hard.py 644 1000 -> opt/app/a.py',
      ]);
      assert.throws(
        () => [...workspaceEntries({ root, src: '../', dest: '/x', epoch: 0 })],
        /outside the workspace/,
      );
      assert.throws(
        () => [...workspaceEntries({ root, src: 'missing', dest: '/x', epoch: 0 })],
        /does not exist/,
      );
      assert.throws(
        () => [...workspaceEntries({ root, src: 'src', dest: 'relative', epoch: 0 })],
        /must be an absolute path/,
      );
    } finally {
      removeTree(root);
    }
  });
});
