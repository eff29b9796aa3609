// Reads a layer blob (gzip or plain tar) into checked LayerEntry records with tar-stream. Every
// entry passes LayerChecker after its PAX and GNU headers are merged; the compressed digest and the
// diff_id are verified at the end, so a consumer must treat the layer as bad until the generator
// has finished without throwing (unpack into a temp dir, rename only then).
import * as tar from 'tar-stream';
import type { Digest } from '../digest';
import { Digester } from '../digest';
import { StrataError } from '../errors';
import type { LayerCompression } from '../image/media-types';
import { LayerChecker } from './checks';
import { decompressLayer } from './decompress';
import type { EntryWithData, LayerEntry, LayerEntryType } from './entry';
import { DEFAULT_LIMITS, LayerLimits } from './limits';
import { decodePaxBinarySafe } from './pax';

export interface ReadLayerOptions {
  compression: LayerCompression;
  /** Names the layer in errors: its digest (and image) as the user knows it. */
  where: string;
  /** The compressed digest the blob must have. */
  digest?: Digest;
  /** The uncompressed digest the tar must have (from the image config). */
  diffId?: Digest;
  limits?: Partial<LayerLimits>;
}

export interface LayerSummary {
  digest: Digest;
  diffId: Digest;
  compressedSize: number;
  uncompressedSize: number;
  entries: number;
}

const TYPES: Record<string, LayerEntryType | undefined> = {
  file: 'file',
  'contiguous-file': 'file',
  directory: 'dir',
  symlink: 'symlink',
  link: 'hardlink',
  fifo: 'fifo',
  'character-device': 'char',
  'block-device': 'block',
};

type Header = Partial<tar.Header> & { name: string; pax?: Record<string, string> | null };

function paxNumber(pax: Record<string, string> | null | undefined, key: string, fallback: number): number {
  const v = pax?.[key];
  if (v === undefined) return fallback;
  const n = Number(v);
  return Number.isFinite(n) ? n : NaN;
}

/** Builds a LayerEntry from a merged tar header, applying PAX overrides tar-stream leaves aside. */
function toEntry(h: Header, checker: LayerChecker): LayerEntry | undefined {
  const raw = h.name;
  const pax = h.pax;
  if (pax && Object.keys(pax).some((k) => k.startsWith('GNU.sparse'))) {
    checker.fail(raw, 'sparse file (GNU.sparse PAX records)', 'sparse files in layers are not supported');
  }
  const type = TYPES[h.type ?? 'file'];
  if (!type) checker.fail(raw, `unsupported tar entry type ${String(h.type)}`);
  const path = checker.normalizePath(raw);
  const uid = paxNumber(pax, 'uid', h.uid ?? 0);
  const gid = paxNumber(pax, 'gid', h.gid ?? 0);
  checker.checkId(raw, 'uid', uid);
  checker.checkId(raw, 'gid', gid);
  const mtime = Math.floor(paxNumber(pax, 'mtime', (h.mtime?.getTime() ?? 0) / 1000));
  const xattrs: Record<string, Buffer> = {};
  let xattrBytes = 0;
  for (const [k, v] of Object.entries(pax ?? {})) {
    if (!k.startsWith('SCHILY.xattr.')) continue;
    const value = Buffer.from(v, 'latin1');
    xattrBytes += value.length;
    xattrs[k.slice('SCHILY.xattr.'.length)] = value;
  }
  if (xattrBytes > DEFAULT_LIMITS.maxXattrBytes) checker.fail(raw, 'xattrs larger than 64 KiB');
  const entry: LayerEntry = {
    type,
    path,
    mode: (h.mode ?? 0) & 0o7777,
    uid,
    gid,
    mtime: Number.isFinite(mtime) ? mtime : 0,
  };
  if (Object.keys(xattrs).length) entry.xattrs = xattrs;
  if (type === 'symlink' || type === 'hardlink') {
    if (!h.linkname) checker.fail(raw, `${type} without a target`);
    if (h.linkname.includes('\0')) checker.fail(raw, 'NUL byte in the link target');
    entry.linkname = h.linkname;
  }
  if (type === 'file') entry.size = h.size ?? 0;
  if (type === 'char' || type === 'block') {
    entry.devmajor = h.devmajor ?? 0;
    entry.devminor = h.devminor ?? 0;
  }
  if (type === 'file') {
    const wh = checker.decodeWhiteout(path, raw);
    if (wh) return { type: wh.type, path: wh.path, mode: 0, uid: 0, gid: 0, mtime: entry.mtime };
  } else if (checker.decodeWhiteout(path, raw)) {
    checker.fail(raw, `whiteout name on a ${type}`);
  }
  return entry;
}

/**
 * Yields the checked entries of a layer. A file's `data` must be read (or left: it is drained)
 * before asking for the next entry. Throws StrataError('LAYER' | 'DIGEST') naming the layer.
 */
export async function* readLayer(
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  options: ReadLayerOptions,
  summary?: (s: LayerSummary) => void,
): AsyncGenerator<EntryWithData> {
  const limits = { ...DEFAULT_LIMITS, ...options.limits };
  const where = options.where;
  const checker = new LayerChecker(where, limits);
  const tapped = { compressed: new Digester(), uncompressed: new Digester() };
  const extract = tar.extract();
  decodePaxBinarySafe(extract);
  const tarBytes = decompressLayer(source, options.compression, where, limits, tapped);
  const feeding = feed(tarBytes, extract);
  let count = 0;
  try {
    for await (const stream of extract) {
      const h = stream.header as Header;
      const entry = toEntry(h, checker);
      if (!entry) {
        stream.resume();
        continue;
      }
      checker.admit(entry, h.name);
      count++;
      if (entry.path === '.' && entry.type === 'dir') {
        stream.resume(); // the root's own metadata: the tree root is made by the store
        continue;
      }
      yield { entry, data: entry.type === 'file' ? (stream as AsyncIterable<Uint8Array>) : undefined };
      stream.resume();
    }
    await feeding;
  } catch (e) {
    extract.destroy();
    await tarBytes.return(undefined);
    if (e instanceof StrataError) throw e;
    throw new StrataError(
      'LAYER',
      `layer ${where} is not a valid tar: ${(e as Error).message}`,
      'the layer is truncated, corrupt or hostile; nothing was unpacked',
      { cause: e },
    );
  }
  const digest = tapped.compressed.digest();
  const diffId = tapped.uncompressed.digest();
  if (options.digest && !digest.equals(options.digest)) {
    throw new StrataError(
      'DIGEST',
      `layer ${where}: blob digest is ${digest}, expected ${options.digest}`,
      'the blob is corrupt; pull it again',
    );
  }
  if (options.diffId && !diffId.equals(options.diffId)) {
    throw new StrataError(
      'DIGEST',
      `layer ${where}: uncompressed digest (diff_id) is ${diffId}, but the image config says ${options.diffId}`,
      'the image is inconsistent or tampered with; nothing was unpacked',
    );
  }
  summary?.({
    digest,
    diffId,
    compressedSize: tapped.compressed.size,
    uncompressedSize: tapped.uncompressed.size,
    entries: count,
  });
}

/** Writes the tar bytes into the extractor with back-pressure; an error destroys the extractor. */
async function feed(bytes: AsyncIterable<Buffer>, extract: tar.Extract): Promise<void> {
  try {
    for await (const chunk of bytes) {
      if (extract.destroyed) return;
      if (!extract.write(chunk)) {
        await new Promise<void>((resolve) => {
          const done = () => {
            extract.off('drain', done);
            extract.off('close', done);
            resolve();
          };
          extract.on('drain', done);
          extract.on('close', done);
        });
      }
    }
    extract.end(Buffer.alloc(0));
  } catch (e) {
    extract.destroy(e as Error);
  }
}
