// The deflate workers behind gzip.ts: a small pool of worker threads, each turning one block into a
// piece of a raw deflate stream. Blocks travel in shared memory (a `BlockSlot`: the previous block's
// last 32 KiB, then the block), so posting a job copies nothing; the worker sends its output back as
// a transferred buffer. A slot belongs to one gzip stream and is not written again until its job has
// answered. Workers are unref'd while idle so that a finished CLI can exit; one that dies fails the
// pending jobs and is replaced when the next job comes.
import * as os from 'node:os';
import { Worker } from 'node:worker_threads';
import { StrataError } from '../errors';

/** Deflate's window: the most a block can refer back into the previous one. */
export const DICT_BYTES = 32 * 1024;

/** One block's shared memory: `[0, DICT_BYTES)` the dictionary (right-aligned), then the block. */
export class BlockSlot {
  readonly memory: SharedArrayBuffer;
  readonly bytes: Uint8Array;
  /** The block's data begins here. */
  static readonly DATA = DICT_BYTES;

  constructor(readonly capacity: number) {
    this.memory = new SharedArrayBuffer(DICT_BYTES + capacity);
    this.bytes = new Uint8Array(this.memory);
  }

  /** The block's writable area. */
  get data(): Uint8Array {
    return this.bytes.subarray(BlockSlot.DATA);
  }
}

export interface DeflateJob {
  slot: BlockSlot;
  /** Bytes of dictionary just before the data (0 for the first block, else up to DICT_BYTES). */
  dictLength: number;
  /** Bytes of data. */
  length: number;
  /** The last block ends the stream (Z_FINISH); the others end with a sync flush. */
  last: boolean;
  level: number;
  memLevel: number;
}

// Plain JavaScript, run with `eval` so that the bundles (esbuild) need no separate worker file.
// chunkSize above the block size: zlib writes the output in one piece (one allocation, no concat).
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const zlib = require('node:zlib');
const DATA = ${DICT_BYTES};
parentPort.on('message', (m) => {
  try {
    const all = new Uint8Array(m.memory);
    const opts = {
      level: m.level,
      memLevel: m.memLevel,
      chunkSize: m.length + 64 * 1024,
      finishFlush: m.last ? zlib.constants.Z_FINISH : zlib.constants.Z_SYNC_FLUSH,
    };
    if (m.dictLength > 0) opts.dictionary = all.subarray(DATA - m.dictLength, DATA);
    const out = zlib.deflateRawSync(all.subarray(DATA, DATA + m.length), opts);
    // Transfer the output's memory when it is exactly the output; else copy it out first.
    const own = out.byteOffset === 0 && out.buffer.byteLength === out.length ? out : new Uint8Array(out);
    parentPort.postMessage({ id: m.id, out: own }, [own.buffer]);
  } catch (e) {
    parentPort.postMessage({ id: m.id, error: String(e && e.message || e) });
  }
});
`;

interface Pending {
  resolve: (b: Buffer) => void;
  reject: (e: Error) => void;
  worker: number;
}

interface Reply {
  id: number;
  out?: Uint8Array;
  error?: string;
}

export class DeflatePool {
  /** A worker that exited is dropped here and a new one is started when the next job needs it. */
  private readonly workers: (Worker | undefined)[];
  private readonly pending = new Map<number, Pending>();
  /** Jobs sent to each worker and not answered yet. */
  private readonly queued: number[];
  private nextId = 0;

  constructor(readonly size: number) {
    this.workers = Array.from({ length: size }, (_, i) => this.spawn(i));
    this.queued = new Array<number>(size).fill(0);
  }

  private spawn(index: number): Worker {
    const w = new Worker(WORKER_SOURCE, { eval: true });
    w.on('message', (m: Reply) => this.settle(m));
    w.on('error', (e) => this.failAll(e));
    w.on('exit', (code) => {
      if (this.workers[index] === w) this.workers[index] = undefined;
      if (this.pending.size) this.failAll(new Error(`a deflate worker exited with code ${code}`));
    });
    w.unref();
    return w;
  }

  private worker(index: number): Worker {
    return (this.workers[index] ??= this.spawn(index));
  }

  private settle(m: Reply): void {
    const job = this.pending.get(m.id);
    this.pending.delete(m.id);
    if (this.pending.size === 0) for (const w of this.workers) w?.unref();
    if (!job) return;
    this.queued[job.worker]!--;
    if (m.out) job.resolve(Buffer.from(m.out.buffer, m.out.byteOffset, m.out.byteLength));
    else job.reject(new StrataError('INTERNAL', `gzip: deflate failed: ${m.error ?? 'no output'}`));
  }

  /** Every pending job fails (their streams are abandoned); answers that still come are ignored. */
  private failAll(e: Error): void {
    const error = new StrataError('INTERNAL', `gzip: a deflate worker failed: ${e.message}`, undefined, {
      cause: e,
    });
    for (const job of this.pending.values()) job.reject(error);
    this.pending.clear();
    this.queued.fill(0);
  }

  /** Compresses one block; the promise settles with its piece of the deflate stream. */
  deflate(job: DeflateJob): Promise<Buffer> {
    if (this.pending.size === 0) for (const w of this.workers) w?.ref();
    const id = this.nextId++;
    // To the worker with the shortest queue: text blocks take longer than others, and on a shared
    // machine one core may be slower. Which worker deflates a block never changes its bytes.
    let index = 0;
    for (let i = 1; i < this.size; i++) if (this.queued[i]! < this.queued[index]!) index = i;
    this.queued[index]!++;
    const worker = this.worker(index);
    return new Promise<Buffer>((resolve, reject) => {
      this.pending.set(id, { resolve, reject, worker: index });
      worker.postMessage({
        id,
        memory: job.slot.memory,
        dictLength: job.dictLength,
        length: job.length,
        last: job.last,
        level: job.level,
        memLevel: job.memLevel,
      });
    });
  }
}

/** How many deflate workers to use by default: one per core (at most 8). */
export function defaultWorkerCount(): number {
  return Math.max(1, Math.min(8, os.availableParallelism()));
}

const pools = new Map<number, DeflatePool>();

/** The process's pool of `size` workers, made on first use and shared by every gzip stream. */
export function deflatePool(size: number = defaultWorkerCount()): DeflatePool {
  let pool = pools.get(size);
  if (!pool) pools.set(size, (pool = new DeflatePool(size)));
  return pool;
}
