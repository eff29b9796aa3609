// The parallel gzip (server/src/engine/layer/gzip.ts): its bytes depend only on the input, never on
// the number of workers or on how the input is chunked; they form one gzip member whose deflate
// stream ends exactly before the trailer; a failing worker gives a StrataError, not a crash.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Worker } from 'node:worker_threads';
import * as zlib from 'node:zlib';
import { Digester, digestOf } from '../../../server/src/engine/digest';
import { StrataError } from '../../../server/src/engine/errors';
import { deflatePool } from '../../../server/src/engine/layer/deflate-pool';
import {
  blockLevel,
  GZIP_BLOCK,
  GZIP_LEVEL_OTHER,
  GZIP_LEVEL_TEXT,
  gzipParallel,
} from '../../../server/src/engine/layer/gzip';
import { repoRoot } from '../../support';

async function collect(it: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of it) parts.push(c);
  return Buffer.concat(parts);
}

/** A deterministic mix: text-like runs, zeros and pseudo-random (incompressible) stretches. */
function mixed(length: number, seed = 1): Buffer {
  const b = Buffer.alloc(length);
  let x = seed;
  for (let i = 0; i < length; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    const region = Math.floor(i / 70_000) % 3;
    b[i] = region === 0 ? 97 + ((i * 31) % 23) : region === 1 ? 0 : x >>> 24;
  }
  return b;
}

function chunked(input: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let o = 0; o < input.length; o += size) out.push(input.subarray(o, o + size));
  return out;
}

const SIZES: [string, number][] = [
  ['empty', 0],
  ['shorter than the 32 KiB window', 1000],
  ['exactly one block', GZIP_BLOCK],
  ['one block and one byte', GZIP_BLOCK + 1],
  ['a last block shorter than the window', 2 * GZIP_BLOCK + 100],
  ['several blocks', 3 * GZIP_BLOCK + 54_321],
];

describe('parallel gzip', () => {
  for (const [label, size] of SIZES) {
    it(`gives the same bytes with 1, 2 and 3 workers and any chunking: ${label}`, async () => {
      const input = mixed(size, size + 7);
      const one = await collect(gzipParallel([input], { workers: 1 }));
      const two = await collect(gzipParallel(chunked(input, 4096), { workers: 2 }));
      const three = await collect(gzipParallel(chunked(input, 777_777), { workers: 3 }));
      assert.equal(digestOf(two).toString(), digestOf(one).toString(), '2 workers differ from 1');
      assert.equal(digestOf(three).toString(), digestOf(one).toString(), '3 workers differ from 1');
      assert.ok(zlib.gunzipSync(one).equals(input), 'gunzip (CRC-32 and ISIZE checked) gives the input back');
    });
  }

  it('is one gzip member: fixed header, one deflate stream ending right before the trailer', async () => {
    const input = mixed(2 * GZIP_BLOCK + 4321);
    const out = await collect(gzipParallel([input]));
    // ID1 ID2 CM=8 FLG=0 MTIME=0 XFL=0 OS=3: no name, no time, so no machine-dependent bytes.
    assert.deepEqual([...out.subarray(0, 10)], [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]);
    // inflateRaw fails ("unexpected end of file") unless a final block ends the stream, and
    // gunzip would go on to a second member if there were bytes after the trailer.
    assert.ok(zlib.inflateRawSync(out.subarray(10, out.length - 8)).equals(input));
    assert.equal(out.readUInt32LE(out.length - 8), zlib.crc32(input));
    assert.equal(out.readUInt32LE(out.length - 4), input.length);
  });

  it('deflates text blocks at level 4 and other blocks at level 1, exactly as pinned here', async () => {
    // A change to any setting (levels, memLevel, block size, dictionary, header) fails this test:
    // it changes every layer digest, so the build cache format version must change with it.
    const text = Buffer.alloc(GZIP_BLOCK);
    for (let i = 0; i < text.length; i++)
      text[i] = 'strata layer \n'.charCodeAt(i % 14) + (i % 97 === 0 ? 1 : 0);
    const binary = mixed(GZIP_BLOCK, 9).fill(0, 0, 100_000); // noise and zeros: not text
    assert.equal(blockLevel(text), GZIP_LEVEL_TEXT);
    assert.equal(blockLevel(binary), GZIP_LEVEL_OTHER);
    assert.equal(blockLevel(Buffer.alloc(0)), GZIP_LEVEL_TEXT);
    const tail = text.subarray(0, 1000);
    const input = Buffer.concat([text, binary, tail]);
    const expected = Buffer.concat([
      Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]),
      zlib.deflateRawSync(text, { level: 4, memLevel: 9, finishFlush: zlib.constants.Z_SYNC_FLUSH }),
      zlib.deflateRawSync(binary, {
        level: 1,
        memLevel: 9,
        dictionary: text.subarray(GZIP_BLOCK - 32 * 1024),
        finishFlush: zlib.constants.Z_SYNC_FLUSH,
      }),
      zlib.deflateRawSync(tail, {
        level: 4,
        memLevel: 9,
        dictionary: binary.subarray(GZIP_BLOCK - 32 * 1024),
        finishFlush: zlib.constants.Z_FINISH,
      }),
      Buffer.from(new Uint32Array([zlib.crc32(input), input.length]).buffer),
    ]);
    const ours = await collect(gzipParallel([input]));
    assert.ok(ours.equals(expected), 'the layer gzip format changed');
  });

  it('hands every input block to onInput in order (the diff_id)', async () => {
    const input = mixed(2 * GZIP_BLOCK + 99);
    const d = new Digester();
    let calls = 0;
    await collect(
      gzipParallel(chunked(input, 100_000), {
        onInput: (b) => {
          calls++;
          d.update(b);
        },
      }),
    );
    assert.equal(calls, 3);
    assert.equal(d.digest().toString(), digestOf(input).toString());
  });

  it('stays within 10% of gzip -6 on source code', async () => {
    // Real text: this repository's TypeScript sources, in a fixed order.
    const files = ['server/src', 'extension/src', 'test', 'bench'].flatMap((dir) =>
      (fs.readdirSync(path.join(repoRoot, dir), { recursive: true }) as string[])
        .filter((f) => f.endsWith('.ts'))
        .sort()
        .map((f) => path.join(repoRoot, dir, f)),
    );
    const input = Buffer.concat(files.map((f) => fs.readFileSync(f)));
    assert.ok(input.length > GZIP_BLOCK, 'the sample spans several blocks');
    const ours = await collect(gzipParallel([input]));
    const g6 = zlib.gzipSync(input, { level: 6 });
    assert.ok(ours.length <= g6.length * 1.1, `${ours.length} bytes vs gzip -6 ${g6.length}`);
  });

  it('turns a failing worker into a StrataError and keeps working afterwards', async () => {
    await assert.rejects(
      collect(gzipParallel([mixed(GZIP_BLOCK + 10)], { level: 42, workers: 2 })),
      (e: unknown) => e instanceof StrataError && e.code === 'INTERNAL' && /deflate failed/.test(e.message),
    );
    const input = mixed(GZIP_BLOCK + 10);
    assert.ok(zlib.gunzipSync(await collect(gzipParallel([input], { workers: 2 }))).equals(input));
  });

  it('fails the stream when a worker dies mid-layer, and replaces the worker', async () => {
    const pool = deflatePool(2) as unknown as { workers: (Worker | undefined)[] };
    const gz = gzipParallel([mixed(12 * GZIP_BLOCK)], { workers: 2, level: 9 });
    await gz.next(); // the header
    const rest = (async () => {
      for (;;) if ((await gz.next()).done) return;
    })();
    rest.catch(() => undefined);
    // One turn of the event loop: 8 blocks are queued on the two workers, none can be done yet.
    await new Promise((r) => setImmediate(r));
    await pool.workers[0]!.terminate();
    await assert.rejects(
      rest,
      (e: unknown) => e instanceof StrataError && e.code === 'INTERNAL' && /deflate worker/.test(e.message),
    );
    const input = mixed(3 * GZIP_BLOCK);
    assert.ok(zlib.gunzipSync(await collect(gzipParallel([input], { workers: 2 }))).equals(input));
  });

  it('lets a consumer stop after an error without an unhandled rejection', async () => {
    let unhandled: unknown;
    const onUnhandled = (e: unknown) => (unhandled = e);
    process.on('unhandledRejection', onUnhandled);
    try {
      // 12 blocks: 8 are queued before the first answer is awaited; all of them fail.
      const gz = gzipParallel([mixed(12 * GZIP_BLOCK)], { level: 42, workers: 2 });
      await gz.next(); // the gzip header
      await assert.rejects(gz.next(), StrataError);
      // Each worker answers in order, so once a later job on both workers is done, every failed
      // job has been answered; then one macrotask lets Node report any unhandled rejection.
      await collect(gzipParallel([mixed(2 * GZIP_BLOCK + 1)], { workers: 2 }));
      await new Promise((r) => setImmediate(r));
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
    assert.equal(unhandled, undefined);
  });
});
