// Content-addressed blob writes, as containerd's local content writer (plugins/content/local/
// writer.go): stream into a temp file inside the store while hashing, fsync, check size and digest,
// make it read-only, rename into blobs/sha256/<hex>, fsync the folder. A reader never sees a partial
// blob; a crash leaves only a temp file that gc removes once its owner pid is gone. Two writers of
// the same blob each write their own temp file; the second rename replaces identical content.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Digest, Digester } from '../digest';
import { StrataError } from '../errors';
import { fsyncDir, tempName } from './fsutil';
import { pidAlive } from './lock';
import type { StorePaths } from './paths';

export interface IngestOptions {
  /** The digest the content must have; without it the digest is computed (build layers). */
  expected?: Digest;
  /** The size the content must have, when known (descriptor size). */
  size?: number;
  /** Names the source in errors: a ref, a file, a layer ("docker.io/library/debian:bookworm"). */
  where?: string;
  /** Bytes written so far, called per chunk. */
  onProgress?: (bytes: number) => void;
  signal?: AbortSignal;
}

export interface IngestResult {
  digest: Digest;
  size: number;
  /** False when the blob was already present (the stream was still read and verified). */
  written: boolean;
}

type Source = AsyncIterable<Uint8Array> | Iterable<Uint8Array>;

/** How many bytes ingestBlob writes between two background fdatasync calls. */
const WRITEBACK_BYTES = 8 << 20;

export async function ingestBlob(
  paths: StorePaths,
  source: Source,
  options: IngestOptions = {},
): Promise<IngestResult> {
  const where = options.where ? ` (${options.where})` : '';
  const tmp = path.join(paths.tmp, tempName('ingest'));
  const fh = await fs.promises.open(tmp, 'wx', 0o644);
  const digester = new Digester();
  let ok = false;
  // Write-back while the source still produces (a layer being compressed, a download): one
  // fdatasync in flight on the thread pool every WRITEBACK_BYTES, so the fsync that makes the blob
  // durable at the end has only the tail left to flush.
  let writeback: Promise<void> | undefined;
  let unsynced = 0;
  try {
    for await (const chunk of source) {
      if (options.signal?.aborted) throw options.signal.reason ?? new StrataError('CANCELLED', 'cancelled');
      digester.update(chunk);
      if (options.size !== undefined && digester.size > options.size) {
        throw new StrataError(
          'DIGEST',
          `blob ${options.expected ?? ''}${where} is larger than its declared size ${options.size}`,
          'the source sent more data than the descriptor says; it may be corrupt or hostile',
        );
      }
      let off = 0;
      while (off < chunk.length) off += (await fh.write(chunk, off, chunk.length - off)).bytesWritten;
      options.onProgress?.(digester.size);
      unsynced += chunk.length;
      if (unsynced >= WRITEBACK_BYTES && !writeback) {
        unsynced = 0;
        writeback = fh.datasync().finally(() => (writeback = undefined));
      }
    }
    await writeback;
    await fh.sync();
    const got = digester.digest();
    if (options.size !== undefined && digester.size !== options.size) {
      throw new StrataError(
        'DIGEST',
        `blob ${options.expected ?? got}${where} has ${digester.size} bytes, expected ${options.size}`,
        'the content was cut short or the descriptor is wrong; nothing was stored',
      );
    }
    if (options.expected && !got.equals(options.expected)) {
      throw new StrataError(
        'DIGEST',
        `digest mismatch${where}: expected ${options.expected}, got ${got}`,
        'the content does not match its digest; nothing was stored. Retry, or check the source',
      );
    }
    await fh.chmod(0o444);
    await fh.close();
    const final = paths.blob(got);
    const existed = fs.existsSync(final);
    if (existed) {
      await fs.promises.rm(tmp, { force: true });
    } else {
      await fs.promises.rename(tmp, final);
      fsyncDir(paths.blobs);
    }
    ok = true;
    return { digest: got, size: digester.size, written: !existed };
  } finally {
    if (!ok) {
      await writeback?.catch(() => undefined);
      await fh.close().catch(() => undefined);
      await fs.promises.rm(tmp, { force: true });
    }
  }
}

/** Re-hashes a stored blob; returns its actual digest and size. */
export async function hashStoredBlob(file: string): Promise<{ digest: Digest; size: number }> {
  const digester = new Digester();
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.allocUnsafe(1 << 20);
    for (;;) {
      const n = fs.readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      digester.update(buf.subarray(0, n));
      if (digester.size % (64 << 20) === 0) await new Promise((r) => setImmediate(r));
    }
  } finally {
    fs.closeSync(fd);
  }
  return { digest: digester.digest(), size: digester.size };
}

// ---- resumable downloads ------------------------------------------------------------------------
//
// A download in progress is kept in `tmp/partial-<pid>-<first 12 hex of the digest>`: the owner's
// pid first, so gc's stale-temp rule (`PREFIX-<pid>-<8..12 hex>`, owner gone) removes what a crash
// left and nobody resumed; the digest prefix, so the next pull of the same blob finds it. Whatever
// the file holds is only a guess until the whole blob hashes to its digest: the bytes are hashed
// again from the file when resumed, and a bad prefix costs one full download (see registry/).

const PARTIAL_RE = /^partial-(\d{1,7})-([0-9a-f]{12})$/;

/** The name of `digest`'s resumable download owned by `pid`. */
export function partialName(digest: Digest, pid = process.pid): string {
  return `partial-${pid}-${digest.hex.slice(0, 12)}`;
}

/**
 * The kept bytes of one blob's download, appended to as it continues and renamed into `blobs/`
 * once verified. Callers hold a per-blob mutex so that one process at a time writes it.
 */
export class PartialBlob {
  private pending: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly paths: StorePaths,
    readonly digest: Digest,
    readonly file: string,
    private fh: fs.promises.FileHandle,
    /** Bytes in the file (kept from before, then appended). */
    public size: number,
    /** Bytes that were already there when this download began (left by an earlier process). */
    readonly adopted: number,
  ) {}

  /**
   * Opens `digest`'s download: adopts the file a dead process left (renaming it to ours, which is
   * atomic, so two processes never share one), or starts an empty one. A kept file longer than the
   * blob cannot be a prefix of it and is started over.
   */
  static async open(paths: StorePaths, digest: Digest, size: number): Promise<PartialBlob> {
    const mine = path.join(paths.tmp, partialName(digest));
    const key = digest.hex.slice(0, 12);
    for (const name of fs.readdirSync(paths.tmp)) {
      const m = PARTIAL_RE.exec(name);
      if (!m || m[2] !== key) continue;
      const pid = Number(m[1]);
      if (pid === process.pid) break; // ours (an earlier attempt in this process): continue it
      if (pidAlive(pid)) continue; // a live process writes it (under the blob mutex): never share
      try {
        fs.renameSync(path.join(paths.tmp, name), mine);
        break;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e; // another process took it
      }
    }
    const fh = await fs.promises.open(mine, fs.constants.O_RDWR | fs.constants.O_CREAT, 0o644);
    let kept = (await fh.stat()).size;
    if (kept > size) {
      await fh.truncate(0);
      kept = 0;
    }
    return new PartialBlob(paths, digest, mine, fh, kept, kept);
  }

  /** The kept bytes, read back in 1 MiB blocks (the caller hashes them again). */
  async *kept(): AsyncGenerator<Buffer> {
    const end = this.size;
    let offset = 0;
    while (offset < end) {
      const buf = Buffer.allocUnsafe(Math.min(1 << 20, end - offset));
      const { bytesRead } = await this.fh.read(buf, 0, buf.length, offset);
      if (bytesRead === 0) break;
      offset += bytesRead;
      yield bytesRead === buf.length ? buf : buf.subarray(0, bytesRead);
    }
  }

  /**
   * Appends `chunks` (in order, one writev). Returns at once; at most one write is in flight, so
   * the caller's hashing and unpacking overlap with the disk. `flush()` waits for it.
   */
  async append(chunks: Buffer[]): Promise<void> {
    const before = this.pending;
    let length = 0;
    for (const c of chunks) length += c.length;
    const offset = this.size;
    this.size += length;
    await before;
    this.pending = writeAllAt(this.fh, chunks, offset, length);
    this.pending.catch(() => undefined); // surfaced by the next append or flush
  }

  async flush(): Promise<void> {
    await this.pending;
  }

  /** Starts over (the registry ignored a Range request, or the kept bytes were bad). */
  async reset(): Promise<void> {
    await this.pending.catch(() => undefined);
    await this.fh.truncate(0);
    this.size = 0;
  }

  /**
   * Makes the verified download the blob: fsync, read-only, rename into blobs/, fsync the folder.
   * The caller has checked size and digest on every byte. Returns false when the blob was there.
   */
  async commit(): Promise<boolean> {
    await this.pending;
    await this.fh.sync();
    await this.fh.chmod(0o444);
    await this.fh.close();
    const final = this.paths.blob(this.digest);
    if (fs.existsSync(final)) {
      await fs.promises.rm(this.file, { force: true });
      return false;
    }
    await fs.promises.rename(this.file, final);
    fsyncDir(this.paths.blobs);
    return true;
  }

  /** Leaves the kept bytes for a later pull to resume (the network failed). */
  async keep(): Promise<void> {
    await this.pending.catch(() => undefined);
    await this.fh.close().catch(() => undefined);
  }

  /** Removes the download (wrong bytes, or cancelled: nothing half-written stays behind). */
  async discard(): Promise<void> {
    await this.keep();
    await fs.promises.rm(this.file, { force: true });
  }
}

async function writeAllAt(
  fh: fs.promises.FileHandle,
  chunks: Buffer[],
  offset: number,
  length: number,
): Promise<void> {
  let written = 0;
  while (written < length) {
    const { bytesWritten } = await fh.writev(chunks, offset + written);
    written += bytesWritten;
    if (written < length) chunks = remaining(chunks, bytesWritten);
  }
}

/** The part of `chunks` after its first `skip` bytes (after a short writev). */
function remaining(chunks: Buffer[], skip: number): Buffer[] {
  const out: Buffer[] = [];
  for (const c of chunks) {
    if (skip >= c.length) {
      skip -= c.length;
      continue;
    }
    out.push(skip ? c.subarray(skip) : c);
    skip = 0;
  }
  return out;
}
