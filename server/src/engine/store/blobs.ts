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
    }
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
