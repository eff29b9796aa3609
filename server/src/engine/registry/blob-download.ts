// One blob's bytes, in order, from a resumable download: first what an earlier attempt kept in the
// store's tmp/ (read back and hashed again), then the network, continued with an HTTP Range request
// after a cut connection. Every byte handed out is hashed and appended to the kept file; the last
// read checks the size and the digest, so a consumer (the unpacker, the diff_id check) that reads to
// the end has seen exactly the blob the manifest names, or gets an error.
//
// Registries that ignore Range answer 200 with the whole blob: the bytes we already have are skipped
// on the way, which costs the transfer but not the correctness (what the consumer saw is hashed).
import type { Readable } from 'node:stream';
import { Digest, Digester } from '../digest';
import { StrataError } from '../errors';
import type { Descriptor } from '../image/types';
import type { PartialBlob } from '../store/blobs';
import { registryError, type RepositoryClient } from './client';
import { contentRangeStart } from './range';
import { sleep, type HttpResponse } from './transport';

export interface BlobDownloadOptions {
  /** Names the image and the blob's role in messages: "docker.io/library/debian:bookworm layer 1/1". */
  where: string;
  signal?: AbortSignal;
  /** Bytes of the blob available so far (kept + fetched). */
  onProgress?: (bytes: number) => void;
  /** Requests in a row that bring no byte before giving up (default 3). */
  attempts?: number;
  /** First pause before asking again, doubled each time (default 250 ms). */
  backoffMs?: number;
}

/** Bytes gathered before they are handed to the consumer and written to the kept file. */
const BLOCK = 1 << 20;
/** How far the download may run ahead of its consumer. */
const AHEAD = 8 << 20;
/** A pause of the network this long gets the bytes that came written before waiting on. */
const SLOW_MS = 100;

export class BlobDownload {
  readonly digest: Digest;
  readonly size: number;
  /** Bytes that came over the network (what a resumed download saved shows here). */
  fetched = 0;
  /** Requests made for this blob, and whether the registry ignored a Range request. */
  requests = 0;
  rangeIgnored = false;
  /** The download itself failed (wrong bytes, or the network gave up): reading on is pointless. */
  failed = false;
  private readonly digester = new Digester();
  private offset = 0;
  private kept: AsyncGenerator<Buffer> | undefined;
  private response: HttpResponse | undefined;
  /** Bytes of the current 200 answer still to skip (already kept). */
  private skip = 0;
  private readonly queue: Buffer[] = [];
  private failures = 0;
  private finished = false;
  private fullOnly = false;
  private reading: Promise<void> = Promise.resolve();
  /** The network side (pump) and its hand-over to the consumer. */
  private pumping: Promise<void> | undefined;
  private pumped = false;
  private pumpError: unknown;
  private stopped = false;
  private queued = 0;
  private wake: (() => void) | undefined;
  private space: (() => void) | undefined;
  /** Hashed (and queued for the consumer) but not yet appended to the kept file. */
  private readonly unwritten: Buffer[] = [];
  private unwrittenBytes = 0;

  constructor(
    private readonly repo: RepositoryClient,
    descriptor: Descriptor,
    private readonly partial: PartialBlob,
    private readonly options: BlobDownloadOptions,
  ) {
    this.digest = Digest.parse(descriptor.digest, options.where);
    this.size = descriptor.size;
    if (partial.size > 0) this.kept = partial.kept();
  }

  /** Bytes kept from an earlier attempt that this download did not fetch again. */
  get resumedFrom(): number {
    return this.partial.adopted;
  }

  private get label(): string {
    return `${this.options.where}, from ${this.repo.where}`;
  }

  /** The whole blob as an async iterable for a consumer (it does not close the download early). */
  async *chunks(): AsyncGenerator<Buffer> {
    for (;;) {
      const c = await this.read();
      if (!c) return;
      yield c;
    }
  }

  /** The next chunk, or undefined after the last one (once size and digest are verified). */
  async read(): Promise<Buffer | undefined> {
    // One read at a time: a consumer that stops (its stream destroyed) may leave a read in flight
    // while drain() starts; both must not ask the registry.
    const before = this.reading;
    let done!: () => void;
    this.reading = new Promise((r) => (done = r));
    await before;
    try {
      return await this.next();
    } catch (e) {
      this.failed = true;
      throw e;
    } finally {
      done();
    }
  }

  private async next(): Promise<Buffer | undefined> {
    this.checkCancelled();
    if (this.queue.length) return this.take();
    if (this.kept) {
      const r = await this.kept.next();
      if (!r.done) {
        this.digester.update(r.value);
        this.offset += r.value.length;
        this.options.onProgress?.(this.offset);
        return r.value;
      }
      this.kept = undefined;
    }
    if (this.finished) return undefined;
    // The network runs ahead of the consumer (up to AHEAD bytes): gunzip and the unpacker never
    // wait for a round trip, and the registry never waits for them.
    this.pumping ??= this.pump();
    while (!this.queue.length && !this.pumped && this.pumpError === undefined) {
      await new Promise<void>((r) => (this.wake = r));
    }
    if (this.queue.length) return this.take();
    if (this.pumpError !== undefined) throw this.pumpError;
    await this.finish();
    return undefined;
  }

  private take(): Buffer {
    const piece = this.queue.shift()!;
    this.queued -= piece.length;
    const space = this.space;
    this.space = undefined;
    space?.();
    return piece;
  }

  /** Fetches pieces into the queue until the blob is complete, pausing while AHEAD bytes wait. */
  private async pump(): Promise<void> {
    try {
      while (this.offset < this.size && !this.stopped) {
        if (this.queued >= AHEAD) {
          await new Promise<void>((r) => (this.space = r));
          continue;
        }
        await this.fill();
        this.wakeConsumer();
      }
      this.pumped = true;
    } catch (e) {
      this.pumpError = e;
    }
    this.wakeConsumer();
  }

  private wakeConsumer(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  /** Reads to the end without a consumer (to tell a wrong blob from a bad layer after a failure). */
  async drain(): Promise<void> {
    while (await this.read());
  }

  /** Stops the network side for good (after a failure or cancellation). */
  close(): void {
    this.stopped = true;
    this.dropResponse();
    this.space?.();
  }

  private dropResponse(): void {
    this.response?.body.destroy();
    this.response = undefined;
  }

  /**
   * Gathers about a block from the network (fewer, larger pieces: gunzip runs one thread-pool job
   * per piece it is given), hashes it, and queues it for the consumer as one buffer. When the
   * network is slow, what came is written to the kept file while we wait, so a kill loses nothing.
   */
  private async fill(): Promise<void> {
    const parts: Buffer[] = [];
    let length = 0;
    while (length < BLOCK && this.offset < this.size) {
      if (!this.response) await this.request();
      const body = this.response!.body;
      let chunk = body.read() as Buffer | null;
      if (chunk === null) {
        const state = await this.waitForBytes(body, parts.length > 0);
        if (state === 'readable') continue;
        if (state === 'slow') break; // the network pauses: hand out what came (it is on disk)
        this.checkCancelled();
        this.dropResponse();
        if (this.offset < this.size) {
          if (parts.length) break; // hand out what came; the next fill asks for the rest
          await this.interrupted(state === 'end' ? new Error('the answer ended early') : state);
        }
        continue;
      }
      if (this.skip > 0) {
        const n = Math.min(this.skip, chunk.length);
        this.skip -= n;
        chunk = chunk.subarray(n);
        if (!chunk.length) continue;
      }
      if (this.offset + chunk.length > this.size) this.tooLarge();
      this.failures = 0;
      this.digester.update(chunk);
      this.offset += chunk.length;
      this.fetched += chunk.length;
      parts.push(chunk);
      length += chunk.length;
      this.unwritten.push(chunk);
      this.unwrittenBytes += chunk.length;
    }
    if (!parts.length) return;
    if (this.unwrittenBytes >= BLOCK) await this.flushKept();
    this.queue.push(parts.length === 1 ? parts[0]! : Buffer.concat(parts, length));
    this.queued += length;
    this.options.onProgress?.(this.offset);
  }

  /**
   * Waits for the network. Past SLOW_MS without a byte, what came is put on disk (a kill then loses
   * nothing) and, when there is some, given to the consumer ('slow') rather than held back.
   */
  private async waitForBytes(body: Readable, holding: boolean): Promise<'readable' | 'end' | 'slow' | Error> {
    const ready = readable(body);
    let timer: NodeJS.Timeout | undefined;
    const slow = new Promise<'slow'>((r) => (timer = setTimeout(() => r('slow'), SLOW_MS)));
    const first = await Promise.race([ready, slow]);
    clearTimeout(timer);
    if (first !== 'slow') return first;
    await this.flushKept();
    return holding ? 'slow' : ready;
  }

  /**
   * Appends the bytes hashed since the last write to the kept file, in one write (socket-sized
   * reads of 16-64 KiB would otherwise cost a write each: 800 instead of 50 for 50 MB).
   */
  async flushKept(): Promise<void> {
    if (!this.unwritten.length) return;
    const parts = this.unwritten.splice(0);
    this.unwrittenBytes = 0;
    await this.partial.append(parts);
  }

  /** Asks for the rest of the blob: all of it, or from `offset` with a Range request. */
  private async request(): Promise<void> {
    this.requests++;
    const ranged = this.offset > 0 && !this.fullOnly;
    const res = await this.repo.request({
      method: 'GET',
      path: `blobs/${this.digest}`,
      ...(ranged ? { headers: { Range: `bytes=${this.offset}-` } } : {}),
    });
    const what = `blob ${this.digest} (${this.options.where})`;
    if (ranged && res.status === 416) {
      // Refused the range: ask for the whole blob and skip what is kept.
      res.body.resume();
      this.fullOnly = true;
      return this.request();
    }
    if (res.status !== 200 && res.status !== 206) throw await registryError(res, what, this.repo.where);
    const length = res.headers['content-length'];
    if (res.status === 206) {
      if (!ranged) {
        res.body.resume();
        throw new StrataError(
          'REGISTRY',
          `${this.repo.where} answered 206 (a part) to a request for all of ${what}`,
          'the registry or a proxy in front of it misbehaves',
        );
      }
      const start = contentRangeStart(res.headers['content-range'], this.size);
      if (start !== this.offset) {
        // A range we did not ask for (or a 206 to a plain GET): do not guess, fetch it whole.
        res.body.resume();
        this.fullOnly = true;
        return this.request();
      }
      this.checkLength(length, this.size - this.offset, res);
      this.skip = 0;
    } else {
      this.checkLength(length, this.size, res);
      if (ranged) this.rangeIgnored = true;
      this.skip = this.offset;
    }
    this.response = res;
  }

  private checkLength(length: string | undefined, expected: number, res: HttpResponse): void {
    if (length === undefined || Number(length) === expected) return;
    res.body.destroy();
    throw new StrataError(
      'DIGEST',
      `${this.repo.where} sent ${length} bytes for blob ${this.digest} (${this.options.where}), but the manifest says ${expected === this.size ? this.size : `${this.size} (${expected} from byte ${this.offset})`}`,
      'the registry (or something between it and you) serves other content; nothing was stored',
    );
  }

  /** A cut connection: pause, then ask again from where we are (the caller loops). */
  private async interrupted(cause: Error): Promise<void> {
    this.dropResponse();
    if (this.stopped) throw cause;
    this.failures++;
    const attempts = this.options.attempts ?? 3;
    if (this.failures >= attempts || this.requests >= attempts * 10) {
      throw new StrataError(
        'REGISTRY',
        `download of blob ${this.digest} (${this.options.where}) from ${this.repo.where} failed at byte ${this.offset} of ${this.size}: ${cause.message}`,
        'check the network and run the pull again: it continues from the bytes it kept',
        { cause },
      );
    }
    const first = this.options.backoffMs ?? this.repo.client.transport.backoffMs ?? 250;
    await sleep(first * 2 ** (this.failures - 1), this.options.signal);
  }

  private tooLarge(): never {
    this.close();
    throw new StrataError(
      'DIGEST',
      `blob ${this.digest} (${this.label}) is larger than its declared size ${this.size}`,
      'the source sent more data than the descriptor says; it may be corrupt or hostile',
    );
  }

  /** At the end of the blob: no byte more, then the digest. */
  private async finish(): Promise<void> {
    await this.flushKept();
    const body = this.response?.body;
    while (body) {
      const chunk = body.read() as Buffer | null;
      if (chunk === null) {
        if ((await readable(body)) === 'readable') continue;
        break;
      }
      const extra = chunk.subarray(Math.min(this.skip, chunk.length));
      this.skip = Math.max(0, this.skip - chunk.length);
      if (extra.length) this.tooLarge();
    }
    this.close();
    this.finished = true;
    const got = this.digester.digest();
    if (!got.equals(this.digest)) {
      throw new StrataError(
        'DIGEST',
        `digest mismatch (${this.label}): expected ${this.digest}, got ${got}`,
        'the content does not match its digest; nothing was stored. Retry, or check the source',
      );
    }
  }

  private checkCancelled(): void {
    const signal = this.options.signal;
    if (signal?.aborted) {
      this.close();
      throw signal.reason instanceof Error ? signal.reason : new StrataError('CANCELLED', 'cancelled');
    }
  }
}

/**
 * Waits until `body` has bytes to read, has ended, or has failed (a reset connection: Node reports
 * "aborted"). Listeners are attached right after a read() returned null, before 'end' can fire.
 */
function readable(body: Readable): Promise<'readable' | 'end' | Error> {
  if (body.readableEnded) return Promise.resolve('end');
  if (body.errored) return Promise.resolve(body.errored);
  if (body.destroyed) return Promise.resolve(new Error('the connection closed'));
  return new Promise((resolve) => {
    const settle = (state: 'readable' | 'end' | Error) => {
      body.off('readable', onReadable);
      body.off('end', onEnd);
      body.off('error', onError);
      body.off('close', onClose);
      resolve(state);
    };
    const onReadable = () => settle('readable');
    const onEnd = () => settle('end');
    const onError = (e: Error) => settle(e);
    const onClose = () => settle(body.readableEnded ? 'end' : new Error('the connection closed'));
    body.on('readable', onReadable);
    body.on('end', onEnd);
    body.on('error', onError);
    body.on('close', onClose);
  });
}
