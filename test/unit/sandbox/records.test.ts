// The record codec on its own: every kind of entry survives encode → bytes cut at arbitrary points
// → decode, file data streams without being gathered, and damaged streams are refused clearly.
import * as assert from 'node:assert/strict';
import fc from 'fast-check';
import { StrataError } from '../../../server/src/engine/errors';
import type { EntryWithData, LayerEntry } from '../../../server/src/engine/sandbox/entry';
import { entryMtimeNs, normalizeLayerPath } from '../../../server/src/engine/sandbox/entry';
import {
  coalesce,
  RECORD_HEADER_SIZE,
  STREAM_HEADER_SIZE,
  decodeRecords,
  encodeEnd,
  encodeEntries,
  encodeRecordHeader,
  encodeStreamHeader,
  type EndRecord,
} from '../../../server/src/engine/sandbox/records';

async function collect(gen: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const p of gen) parts.push(p);
  return Buffer.concat(parts);
}

/** Feeds bytes in pieces of the given sizes (cycled), as a pipe might deliver them. */
async function* chunked(bytes: Buffer, sizes: number[]): AsyncGenerator<Buffer> {
  let off = 0;
  for (let i = 0; off < bytes.length; i++) {
    const n = Math.max(1, sizes[i % sizes.length]);
    yield Buffer.from(bytes.subarray(off, off + n));
    off += n;
  }
}

interface Decoded {
  entry: LayerEntry;
  data?: Buffer;
}

async function decodeAll(source: AsyncIterable<Uint8Array>): Promise<{ entries: Decoded[]; end: EndRecord }> {
  const entries: Decoded[] = [];
  for await (const rec of decodeRecords(source)) {
    if ('kind' in rec) return { entries, end: rec };
    const { entry, data } = rec;
    if (data && !(data instanceof Uint8Array)) {
      const parts: Buffer[] = [];
      for await (const c of data) parts.push(Buffer.from(c));
      entries.push({ entry, data: Buffer.concat(parts) });
    } else entries.push({ entry });
  }
  throw new Error('no end record');
}

const base = { mode: 0o644, uid: 0, gid: 0, mtime: 1700000000 };

function sample(): EntryWithData[] {
  return [
    { entry: { ...base, type: 'dir', path: '.', mode: 0o755 } },
    { entry: { ...base, type: 'dir', path: 'usr', mode: 0o755, uid: 12, gid: 34 } },
    {
      entry: {
        ...base,
        type: 'file',
        path: 'usr/bin/ping',
        mode: 0o4755,
        size: 3,
        xattrs: { 'security.capability': Buffer.from([1, 0, 0, 2]) },
      },
      data: Buffer.from('abc'),
    },
    { entry: { ...base, type: 'file', path: 'empty', size: 0 } },
    { entry: { ...base, type: 'symlink', path: 'usr/lib64', mode: 0o777, linkname: '/usr/lib' } },
    { entry: { ...base, type: 'hardlink', path: 'usr/bin/ping6', linkname: 'usr/bin/ping' } },
    { entry: { ...base, type: 'whiteout', path: 'etc/gone' } },
    { entry: { ...base, type: 'opaque', path: 'var/cache' } },
    { entry: { ...base, type: 'char', path: 'dev/null', mode: 0o666, devmajor: 1, devminor: 3 } },
    { entry: { ...base, type: 'block', path: 'dev/sda', mode: 0o660, devmajor: 8, devminor: 0 } },
    { entry: { ...base, type: 'fifo', path: 'run/fifo', mode: 0o600 } },
  ];
}

describe('sandbox record codec', function () {
  it('round-trips every kind of entry with metadata, xattrs and data', async function () {
    const input = sample();
    const bytes = await collect(encodeEntries(input));
    const { entries, end } = await decodeAll(chunked(bytes, [bytes.length]));
    assert.equal(end.summary.entries, input.length);
    assert.equal(entries.length, input.length);
    for (let i = 0; i < input.length; i++) {
      const want = input[i].entry;
      const got = entries[i].entry;
      assert.equal(got.type, want.type);
      assert.equal(got.path, want.path);
      assert.equal(got.mode, want.mode);
      assert.equal(got.uid, want.uid);
      assert.equal(got.gid, want.gid);
      assert.equal(got.mtime, want.mtime);
      assert.equal(got.mtimeNs, entryMtimeNs(want));
      assert.equal(got.linkname, want.linkname);
      assert.equal(got.devmajor, want.devmajor);
      assert.equal(got.devminor, want.devminor);
      assert.deepEqual(got.xattrs, want.xattrs);
      if (want.type === 'file')
        assert.deepEqual(entries[i].data, Buffer.from((input[i].data as Buffer) ?? []));
    }
  });

  it('decodes the same entries however the byte stream is cut', async function () {
    const arbEntry = fc.record({
      path: fc.stringMatching(/^[a-z0-9._-]{1,12}(\/[a-z0-9._-]{1,12}){0,3}$/),
      mode: fc.integer({ min: 0, max: 0o7777 }),
      uid: fc.integer({ min: 0, max: 0xffffffff }),
      gid: fc.integer({ min: 0, max: 0xffffffff }),
      mtimeNs: fc.bigInt({ min: -(2n ** 40n), max: 2n ** 62n }),
      data: fc.uint8Array({ maxLength: 300 }),
      xattr: fc.option(fc.uint8Array({ maxLength: 40 })),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.array(arbEntry, { maxLength: 8 }),
        fc.array(fc.integer({ min: 1, max: 97 }), { minLength: 1, maxLength: 5 }),
        async (specs, cuts) => {
          const input: EntryWithData[] = specs.map((s) => ({
            entry: {
              type: 'file',
              path: s.path,
              mode: s.mode,
              uid: s.uid,
              gid: s.gid,
              mtime: 0,
              mtimeNs: s.mtimeNs,
              size: s.data.length,
              ...(s.xattr ? { xattrs: { 'user.test': s.xattr } } : {}),
            },
            data: s.data,
          }));
          const bytes = await collect(encodeEntries(input));
          const { entries } = await decodeAll(chunked(bytes, cuts));
          assert.equal(entries.length, input.length);
          entries.forEach((got, i) => {
            const s = specs[i];
            assert.equal(got.entry.path, s.path);
            assert.equal(got.entry.mtimeNs, s.mtimeNs);
            assert.equal(got.entry.uid, s.uid);
            assert.equal(got.entry.mode, s.mode);
            assert.deepEqual(got.data, Buffer.from(s.data));
            if (s.xattr) assert.deepEqual(got.entry.xattrs?.['user.test'], Buffer.from(s.xattr));
          });
        },
      ),
      { numRuns: 200 },
    );
  });

  it('streams file data: unread data is skipped, and reading it after the next entry fails', async function () {
    const big = Buffer.alloc(3 << 20, 7);
    const bytes = await collect(
      encodeEntries([
        { entry: { ...base, type: 'file', path: 'big', size: big.length }, data: big },
        { entry: { ...base, type: 'file', path: 'small', size: 2 }, data: Buffer.from('hi') },
      ]),
    );
    const seen: string[] = [];
    let skipped: AsyncIterable<Uint8Array> | undefined;
    for await (const rec of decodeRecords(chunked(bytes, [65536]))) {
      if ('kind' in rec) break;
      seen.push(rec.entry.path);
      if (rec.entry.path === 'big') skipped = rec.data as AsyncIterable<Uint8Array>;
      else {
        const parts: Buffer[] = [];
        for await (const c of rec.data as AsyncIterable<Uint8Array>) parts.push(Buffer.from(c));
        assert.equal(Buffer.concat(parts).toString(), 'hi');
      }
    }
    assert.deepEqual(seen, ['big', 'small']);
    await assert.rejects(async () => {
      for await (const _ of skipped!) void _;
    }, /read after the next entry/);
  });

  it('hands file data on in bounded chunks, never the whole file at once', async function () {
    const big = Buffer.alloc(5 << 20, 1);
    const bytes = await collect(
      encodeEntries([{ entry: { ...base, type: 'file', path: 'big', size: big.length }, data: big }]),
    );
    let largest = 0;
    for await (const rec of decodeRecords(chunked(bytes, [bytes.length]))) {
      if ('kind' in rec) break;
      for await (const c of rec.data as AsyncIterable<Uint8Array>) largest = Math.max(largest, c.length);
    }
    assert.ok(largest <= 1 << 20, `a chunk of ${largest} bytes`);
  });

  it('refuses a file whose data does not match its size', async function () {
    await assert.rejects(
      collect(
        encodeEntries([{ entry: { ...base, type: 'file', path: 'f', size: 5 }, data: Buffer.from('abc') }]),
      ),
      (e: unknown) =>
        e instanceof StrataError &&
        e.code === 'LAYER' &&
        /'f': 3 bytes of data, but its size is 5/.test(e.message),
    );
    await assert.rejects(
      collect(
        encodeEntries([{ entry: { ...base, type: 'file', path: 'g', size: 1 }, data: Buffer.from('abc') }]),
      ),
      /'g': more data than its size/,
    );
  });

  it('refuses out-of-range metadata before it reaches strata-box', function () {
    assert.throws(() => encodeRecordHeader({ ...base, type: 'dir', path: 'd', uid: -1 }), /uid -1/);
    assert.throws(() => encodeRecordHeader({ ...base, type: 'dir', path: 'd', mode: 1.5 }), /mode 1.5/);
  });

  it('refuses streams that are cut short, foreign or from another version', async function () {
    const bytes = await collect(encodeEntries(sample()));
    await assert.rejects(decodeAll(chunked(bytes.subarray(0, bytes.length - 10), [100])), /ended inside/);
    await assert.rejects(
      decodeAll(chunked(Buffer.concat([encodeStreamHeader()]), [8])),
      /ended inside a record header \(no end record\)/,
    );
    const foreign = Buffer.from(bytes);
    foreign.write('TARX', 0, 'latin1');
    await assert.rejects(decodeAll(chunked(foreign, [64])), /bad magic/);
    const future = Buffer.from(bytes);
    future.writeUInt16LE(2, 4);
    await assert.rejects(decodeAll(chunked(future, [64])), /version 2 is not supported/);
    const badKind = Buffer.concat([encodeStreamHeader(), Buffer.alloc(RECORD_HEADER_SIZE, 0)]);
    badKind[STREAM_HEADER_SIZE] = 'Z'.charCodeAt(0);
    await assert.rejects(decodeAll(chunked(badKind, [64])), /unknown record kind 0x5a/);
  });

  it('refuses a path that is not UTF-8, naming the bytes', async function () {
    const rec = encodeRecordHeader({ ...base, type: 'dir', path: 'ab' });
    rec[RECORD_HEADER_SIZE] = 0xff;
    const bytes = Buffer.concat([encodeStreamHeader(), rec, encodeEnd()]);
    await assert.rejects(decodeAll(chunked(bytes, [bytes.length])), /path "ÿb" is not valid UTF-8/);
  });

  it('keeps times before 1970 and nanoseconds exact', async function () {
    const mtimeNs = -1_500_000_001n; // 1969-12-31T23:59:58.499999999Z
    const bytes = await collect(
      encodeEntries([{ entry: { ...base, type: 'dir', path: 'old', mtime: 0, mtimeNs } }]),
    );
    const { entries } = await decodeAll(chunked(bytes, [bytes.length]));
    assert.equal(entries[0].entry.mtimeNs, mtimeNs);
    assert.equal(entries[0].entry.mtime, -2);
    assert.equal(entryMtimeNs({ ...base, type: 'dir', path: 'x', mtime: 1.25 }), 1_250_000_000n);
  });

  it('normalises tar member names and rejects ".."', function () {
    assert.equal(normalizeLayerPath('./usr/bin/'), 'usr/bin');
    assert.equal(normalizeLayerPath('/etc//passwd'), 'etc/passwd');
    assert.equal(normalizeLayerPath('./'), '.');
    assert.equal(normalizeLayerPath(''), '.');
    assert.equal(normalizeLayerPath('a/./b'), 'a/b');
    assert.equal(normalizeLayerPath('a/../b'), undefined);
    assert.equal(normalizeLayerPath('../x'), undefined);
  });

  it('merges small writes and passes large chunks through uncopied', async function () {
    const big = Buffer.alloc(20000, 1);
    async function* pieces() {
      for (let i = 0; i < 100; i++) yield Buffer.from([i]);
      yield big;
      yield Buffer.from('tail');
    }
    const out: Buffer[] = [];
    for await (const c of coalesce(pieces(), 64, 16384)) out.push(c);
    assert.ok(out.includes(big), 'the large chunk is the same buffer');
    assert.deepEqual(
      out.map((c) => c.length),
      [64, 36, 20000, 4],
    );
    const expected = Buffer.concat([
      Buffer.from(Array.from({ length: 100 }, (_, i) => i)),
      big,
      Buffer.from('tail'),
    ]);
    assert.deepEqual(Buffer.concat(out), expected);
  });
});
