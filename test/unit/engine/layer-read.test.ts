import { strict as assert } from 'node:assert';
import * as zlib from 'node:zlib';
import { digestOf } from '../../../server/src/engine/digest';
import { StrataError } from '../../../server/src/engine/errors';
import type { EntryWithData, LayerEntry } from '../../../server/src/engine/layer/entry';
import { readLayer, ReadLayerOptions, LayerSummary } from '../../../server/src/engine/layer/read';
import { HOSTILE_CASES } from './hostile-layers';
import { gzip, rawTar } from './tar-craft';

async function readAll(
  blob: Buffer,
  options: Partial<ReadLayerOptions> = {},
): Promise<{ entries: (LayerEntry & { data?: string })[]; summary?: LayerSummary }> {
  const entries: (LayerEntry & { data?: string })[] = [];
  let summary: LayerSummary | undefined;
  for await (const { entry, data } of readLayer(
    [blob],
    { compression: 'gzip', where: 'sha256:test', ...options },
    (s) => (summary = s),
  )) {
    let text: string | undefined;
    if (data) {
      const parts: Buffer[] = [];
      for await (const c of data as AsyncIterable<Uint8Array>) parts.push(Buffer.from(c));
      text = Buffer.concat(parts).toString('latin1');
    }
    entries.push({ ...entry, ...(text !== undefined ? { data: text } : {}) });
  }
  return { entries, summary };
}

describe('layer reader', () => {
  it('reads files, dirs, symlinks, hardlinks with their metadata', async () => {
    const tar = rawTar([
      { name: './usr/', type: '5', mode: 0o755, uid: 0, gid: 0 },
      { name: './usr/bin/', type: '5' },
      { name: './usr/bin/tool', data: 'binary', mode: 0o4755, uid: 1000, gid: 50, mtime: 1234567890 },
      { name: './usr/bin/alias', type: '2', linkname: '/usr/bin/tool' },
      { name: './usr/bin/hard', type: '1', linkname: './usr/bin/tool' },
    ]);
    const { entries, summary } = await readAll(gzip(tar));
    assert.deepEqual(
      entries.map((e) => [e.type, e.path]),
      [
        ['dir', 'usr'],
        ['dir', 'usr/bin'],
        ['file', 'usr/bin/tool'],
        ['symlink', 'usr/bin/alias'],
        ['hardlink', 'usr/bin/hard'],
      ],
    );
    const tool = entries[2]!;
    assert.equal(tool.mode, 0o4755);
    assert.equal(tool.uid, 1000);
    assert.equal(tool.gid, 50);
    assert.equal(tool.mtime, 1234567890);
    assert.equal(tool.data, 'binary');
    assert.equal(entries[3]!.linkname, '/usr/bin/tool');
    assert.equal(entries[4]!.linkname, 'usr/bin/tool');
    assert.equal(summary!.diffId.toString(), digestOf(tar).toString());
    assert.equal(summary!.entries, 5);
  });

  it('merges PAX and GNU long names before checking, and keeps binary xattrs byte for byte', async () => {
    const long = 'd/' + 'x'.repeat(150);
    const cap = Buffer.from([0x01, 0x00, 0x00, 0x02, 0x00, 0x20, 0x00, 0x00, 0xff, 0xfe, 0x80, 0x00]);
    const tar = rawTar([
      { name: 'd/', type: '5' },
      {
        name: 'short',
        data: 'p',
        pax: { path: long, 'SCHILY.xattr.security.capability': cap, uid: '3000000' },
      },
      { name: 'short2', data: 'g', gnuLongName: 'd/' + 'y'.repeat(120) },
    ]);
    const { entries } = await readAll(gzip(tar));
    assert.equal(entries[1]!.path, long);
    assert.equal(entries[1]!.uid, 3000000);
    assert.deepEqual(Buffer.from(entries[1]!.xattrs!['security.capability']!), cap);
    assert.equal(entries[2]!.path, 'd/' + 'y'.repeat(120));
  });

  it('decodes whiteouts and opaque markers', async () => {
    const tar = rawTar([
      { name: 'etc/', type: '5' },
      { name: 'etc/.wh..wh..opq' },
      { name: 'etc/.wh.passwd' },
      { name: '.wh.opt' },
    ]);
    const { entries } = await readAll(gzip(tar));
    assert.deepEqual(
      entries.map((e) => [e.type, e.path]),
      [
        ['dir', 'etc'],
        ['opaque', 'etc'],
        ['whiteout', 'etc/passwd'],
        ['whiteout', 'opt'],
      ],
    );
  });

  it('reads uncompressed layers and verifies digest and diff_id', async () => {
    const tar = rawTar([{ name: 'f', data: 'hello' }]);
    const { summary } = await readAll(tar, {
      compression: 'none',
      digest: digestOf(tar),
      diffId: digestOf(tar),
    });
    assert.equal(summary!.uncompressedSize, tar.length);
    const gz = gzip(tar);
    await assert.rejects(
      readAll(gz, { diffId: digestOf('other') }),
      (e: unknown) =>
        e instanceof StrataError &&
        e.code === 'DIGEST' &&
        /diff_id/.test(e.message) &&
        e.message.includes('sha256:test'),
    );
    await assert.rejects(
      readAll(gz, { digest: digestOf('other') }),
      (e: unknown) =>
        e instanceof StrataError && e.code === 'DIGEST' && e.message.includes(digestOf(gz).toString()),
    );
  });

  it('refuses zstd with a clear "not supported yet"', async () => {
    await assert.rejects(
      readAll(Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), { compression: 'zstd' }),
      /not supported yet|cannot read/,
    );
  });

  it('stops a gzip bomb at the ratio limit', async () => {
    const zeros = Buffer.alloc(8 << 20);
    const tar = rawTar([{ name: 'zeros', data: zeros }]);
    const gz = zlib.gzipSync(tar, { level: 9 });
    await assert.rejects(
      readAll(gz, { limits: { ratioFloorBytes: 1 << 20, maxRatio: 100 } }),
      (e: unknown) => e instanceof StrataError && e.code === 'LAYER' && /gzip bomb/.test(e.message),
    );
    await assert.rejects(readAll(gz, { limits: { maxUncompressedBytes: 4 << 20 } }), /expands beyond/);
  });

  it('refuses garbage that is not gzip', async () => {
    await assert.rejects(
      readAll(Buffer.from('definitely not gzip data')),
      (e: unknown) => e instanceof StrataError && e.code === 'LAYER',
    );
  });

  describe('hostile layers', () => {
    for (const c of HOSTILE_CASES) {
      it(`refuses ${c.name}, naming the layer and the entry`, async () => {
        const tar = rawTar(c.entries('/tmp/strata-sentinel'), { truncate: c.truncate });
        const seen: EntryWithData[] = [];
        await assert.rejects(
          (async () => {
            for await (const e of readLayer([gzip(tar)], { compression: 'gzip', where: 'sha256:hostile' }))
              seen.push(e);
          })(),
          (e: unknown) => {
            assert.ok(e instanceof StrataError, String(e));
            assert.equal(e.code, 'LAYER', e.message);
            assert.match(e.message, c.reason);
            assert.ok(e.message.includes('sha256:hostile'), e.message);
            assert.ok(e.message.includes(c.entry), `${e.message} should quote ${c.entry}`);
            return true;
          },
        );
      });
    }
  });
});
