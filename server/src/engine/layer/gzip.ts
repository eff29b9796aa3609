// Parallel, deterministic gzip (the pigz scheme): the input is cut into fixed 1 MiB blocks; each
// block is raw-deflated in a worker thread (deflate-pool.ts) with the previous block's last 32 KiB
// as dictionary and ends with a sync flush (the last with Z_FINISH), so the pieces concatenate into
// one deflate stream inside one gzip member. Block boundaries are offsets in the input and a block's
// level is chosen from its own bytes, so the output depends only on the input, never on the number
// of workers or on timing. The CRC-32 and the caller's diff_id hash run on the main thread.
// Fixed settings: level 4 for blocks that look like text, level 1 for the others (machine code,
// data, compressed files: lazy matching buys little there and costs a fifth more time), memLevel 9
// (a fifth less CPU than 8 for 0.6% in size), default strategy, header mtime 0, OS 3 (Unix).
// README.md in this folder has the measurements. Changing any setting changes layer digests (and
// needs a build cache format bump).
import * as zlib from 'node:zlib';
import { BlockSlot, DeflatePool, DICT_BYTES, deflatePool } from './deflate-pool';

/** Level of blocks that look like text (lazy matching pays there: source code, scripts, docs). */
export const GZIP_LEVEL_TEXT = 4;
/** Level of other blocks (machine code, data, already-compressed files): greedy matching. */
export const GZIP_LEVEL_OTHER = 1;
export const GZIP_MEM_LEVEL = 9;
export const GZIP_BLOCK = 1 << 20;

const HEADER = Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0x00, 0x03]);

// Printable ASCII, tab, newline and carriage return count as text.
const IS_TEXT = new Uint8Array(256);
for (let c = 0x20; c < 0x7f; c++) IS_TEXT[c] = 1;
IS_TEXT[9] = IS_TEXT[10] = IS_TEXT[13] = 1;
const SAMPLE_STRIDE = 16;

/**
 * The level of one block: text (at least half of every 16th byte is printable ASCII, tab or newline)
 * gets GZIP_LEVEL_TEXT, anything else GZIP_LEVEL_OTHER. A function of the bytes only. The sample
 * costs about 0.15 ms per 1 MiB block.
 */
export function blockLevel(block: Uint8Array): number {
  let text = 0;
  for (let i = 0; i < block.length; i += SAMPLE_STRIDE) text += IS_TEXT[block[i]!]!;
  return text * 2 >= Math.ceil(block.length / SAMPLE_STRIDE) ? GZIP_LEVEL_TEXT : GZIP_LEVEL_OTHER;
}

export interface GzipOptions {
  /** One deflate level for every block, instead of the layer setting (see blockLevel). */
  level?: number;
  /** Worker threads to use (default: one per core). Never changes the output. */
  workers?: number;
  /** Called with each uncompressed block in order (e.g. to hash the diff_id). Do not keep it. */
  onInput?: (block: Buffer) => void;
}

/** The main thread's side of one gzip stream: fills slots, dispatches them, reuses answered ones. */
class BlockStream {
  private readonly free: BlockSlot[] = [];
  private readonly inFlight: { slot: BlockSlot; out: Promise<Buffer> }[] = [];
  private current: BlockSlot;
  private fill = 0;
  private dictLength = 0;
  private crc = 0;
  private total = 0;

  constructor(
    private readonly pool: DeflatePool,
    /** A fixed level for every block (tests), else blockLevel decides. */
    private readonly level: number | undefined,
    private readonly onInput: ((block: Buffer) => void) | undefined,
    /** Blocks queued or compressing at once: enough that no worker waits while files are read. */
    readonly maxInFlight: number,
  ) {
    this.current = new BlockSlot(GZIP_BLOCK);
  }

  /** Copies as much of `chunk` from `offset` as fits in the current block; returns the bytes taken. */
  take(chunk: Uint8Array, offset: number): number {
    const n = Math.min(chunk.length - offset, GZIP_BLOCK - this.fill);
    this.current.data.set(n === chunk.length ? chunk : chunk.subarray(offset, offset + n), this.fill);
    this.fill += n;
    return n;
  }

  get blockFull(): boolean {
    return this.fill === GZIP_BLOCK;
  }

  get backlogged(): boolean {
    return this.inFlight.length >= this.maxInFlight;
  }

  get pending(): number {
    return this.inFlight.length;
  }

  dispatch(last: boolean): void {
    const slot = this.current;
    const data = slot.bytes.subarray(BlockSlot.DATA, BlockSlot.DATA + this.fill);
    const view = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    this.onInput?.(view);
    this.crc = zlib.crc32(view, this.crc);
    this.total += this.fill;
    const out = this.pool.deflate({
      slot,
      dictLength: this.dictLength,
      length: this.fill,
      last,
      level: this.level ?? blockLevel(data),
      memLevel: GZIP_MEM_LEVEL,
    });
    // Settled by next(); until then a rejection must not count as unhandled (e.g. the consumer
    // stopped reading after an error of its own).
    out.catch(() => undefined);
    this.inFlight.push({ slot, out });
    if (last) return;
    // The next block starts with this one's last 32 KiB as its dictionary. Only the final block
    // can be shorter than that, so a short tail never becomes a dictionary.
    this.current = this.free.pop() ?? new BlockSlot(GZIP_BLOCK);
    this.dictLength = Math.min(DICT_BYTES, this.fill);
    this.current.bytes.set(data.subarray(this.fill - this.dictLength), BlockSlot.DATA - this.dictLength);
    this.fill = 0;
  }

  /** The oldest block's compressed bytes; its slot becomes free again. */
  async next(): Promise<Buffer> {
    const { slot, out } = this.inFlight.shift()!;
    const bytes = await out;
    this.free.push(slot);
    return bytes;
  }

  trailer(): Buffer {
    const t = Buffer.alloc(8);
    t.writeUInt32LE(this.crc >>> 0, 0);
    t.writeUInt32LE(this.total % 2 ** 32, 4);
    return t;
  }
}

/**
 * Gzips `input` (any chunking) and yields the compressed bytes in order. Blocks are compressed
 * concurrently; at most 4 per worker are in flight (1 MiB each way), so memory stays bounded.
 */
export async function* gzipParallel(
  input: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  options: GzipOptions = {},
): AsyncGenerator<Buffer> {
  const pool = deflatePool(options.workers);
  const stream = new BlockStream(pool, options.level, options.onInput, Math.max(4, pool.size * 4));
  yield HEADER;
  for await (const chunk of input) {
    let offset = 0;
    while (offset < chunk.length) {
      offset += stream.take(chunk, offset);
      if (stream.blockFull) {
        stream.dispatch(false);
        while (stream.backlogged) yield await stream.next();
      }
    }
  }
  stream.dispatch(true);
  while (stream.pending) yield await stream.next();
  yield stream.trailer();
}
