// Deterministic layer writing: entries in byte order of their paths, times clamped to an epoch (or
// set to it), numeric owners only, no atime/ctime, PAX only where ustar cannot hold a value, and
// the parallel gzip of gzip.ts with fixed settings. The same entries give the same diff_id and, with
// the same zlib, the same compressed digest on any machine (the lock compares diff_ids).
import { Digester } from '../digest';
import type { Digest } from '../digest';
import { StrataError } from '../errors';
import { MediaType } from '../image/media-types';
import type { Descriptor } from '../image/types';
import type { Store } from '../store/store';
import type { EntryWithData, LayerEntry } from './entry';
import { gzipParallel } from './gzip';
import { END_OF_ARCHIVE, encodeHeader, padding } from './tar-header';

// Padding is at most 511 zero bytes; every entry's padding is a view of this one buffer (consumers
// copy or hash what they get and never write to it).
const ZEROS = Buffer.alloc(512);

export interface TarOptions {
  /** Clamp (default) or set every mtime to this epoch (seconds); undefined keeps times. */
  epoch?: number;
  /** 'clamp': min(mtime, epoch), for build steps (SOURCE_DATE_EPOCH); 'set': every time = epoch. */
  times?: 'clamp' | 'set';
  /** Names the source in errors (a build step). */
  where?: string;
}

export interface WrittenLayer {
  /** The compressed blob, stored; mediaType OCI gzip layer. */
  descriptor: Descriptor;
  diffId: Digest;
  uncompressedSize: number;
  entries: number;
}

function orderKey(e: LayerEntry): Buffer {
  return Buffer.from(e.path === '.' ? '' : e.path);
}

function withTime(entry: LayerEntry, options: TarOptions): LayerEntry {
  if (options.epoch === undefined) return entry;
  const sec = Number((entry.mtimeNs ?? BigInt(Math.floor(entry.mtime)) * 1_000_000_000n) / 1_000_000_000n);
  const mtime = options.times === 'set' ? options.epoch : Math.min(sec, options.epoch);
  return { ...entry, mtime, mtimeNs: undefined };
}

/** Turns entries (already in byte order of their paths, as `strata-box scan` emits them) into tar bytes. */
export async function* tarFromEntries(
  entries: AsyncIterable<EntryWithData> | Iterable<EntryWithData>,
  options: TarOptions = {},
  count?: { entries: number },
): AsyncGenerator<Buffer> {
  let previous: Buffer | undefined;
  let previousType = '';
  for await (const { entry, data } of entries) {
    if (entry.path === '.' && entry.type === 'dir') continue; // the root's metadata is not layer content
    const key = orderKey(entry);
    if (previous) {
      const c = Buffer.compare(previous, key);
      const dirThenOpaque = c === 0 && previousType === 'dir' && entry.type === 'opaque';
      if (c > 0 || (c === 0 && !dirThenOpaque)) {
        throw new StrataError(
          'INTERNAL',
          `${options.where ?? 'layer'}: entries out of byte order or repeated at ${JSON.stringify(entry.path)}`,
        );
      }
    }
    previous = key;
    previousType = entry.type;
    if (count) count.entries++;
    const size = entry.type === 'file' ? (entry.size ?? 0) : 0;
    yield encodeHeader(withTime(entry, options));
    if (size > 0) {
      if (!data) throw new StrataError('INTERNAL', `${options.where ?? 'layer'}: no data for ${entry.path}`);
      let written = 0;
      if (data instanceof Uint8Array) {
        written = data.length;
        yield Buffer.from(data.buffer, data.byteOffset, data.byteLength);
      } else {
        for await (const chunk of data) {
          written += chunk.length;
          yield Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
        }
      }
      if (written !== size) {
        throw new StrataError(
          'BUILD',
          `${options.where ?? 'layer'}: ${entry.path} changed while it was packed (${written} bytes, expected ${size})`,
          'do not modify files while a layer is written',
        );
      }
      const pad = padding(size);
      if (pad) yield ZEROS.subarray(0, pad);
    }
  }
  yield END_OF_ARCHIVE;
}

/**
 * Gzips a tar stream into the store: the blob is written atomically, the diff_id hashed on the way.
 * Hold `store.withShared` around this and the tagging or caching that names the result.
 */
export async function storeTarAsLayer(
  store: Store,
  tar: AsyncIterable<Buffer> | Iterable<Buffer>,
  signal?: AbortSignal,
  workers?: number,
): Promise<Omit<WrittenLayer, 'entries'>> {
  const diff = new Digester();
  const gz = gzipParallel(tar, { workers, onInput: (block) => diff.update(block) });
  const r = await store.ingestBlob(gz, { signal });
  return {
    descriptor: { mediaType: MediaType.OciLayerGzip, digest: r.digest.toString(), size: r.size },
    diffId: diff.digest(),
    uncompressedSize: diff.size,
  };
}

/** Writes a layer from entries (e.g. `scanUpperDir` of a build step's upper dir) into the store. */
export async function writeLayer(
  store: Store,
  entries: AsyncIterable<EntryWithData> | Iterable<EntryWithData>,
  options: TarOptions & { signal?: AbortSignal; workers?: number } = {},
): Promise<WrittenLayer> {
  const count = { entries: 0 };
  const r = await storeTarAsLayer(
    store,
    tarFromEntries(entries, options, count),
    options.signal,
    options.workers,
  );
  return { ...r, entries: count.entries };
}

/** The diff_id the entries would have as a layer, without compressing or storing anything. */
export async function diffIdOf(
  entries: AsyncIterable<EntryWithData> | Iterable<EntryWithData>,
  options: TarOptions = {},
): Promise<{ diffId: Digest; size: number }> {
  const d = new Digester();
  for await (const chunk of tarFromEntries(entries, options)) d.update(chunk);
  return { diffId: d.digest(), size: d.size };
}
