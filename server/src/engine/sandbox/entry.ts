// One entry of a layer, as the engine and strata-box exchange it: what the layer codec makes from a
// tar entry (and turns back into one), what `strata-box apply` writes and `strata-box scan` reports.
// Tar spelling stays in the codec: whiteouts and opaque markers arrive here already decoded
// (`.wh.NAME` is a whiteout of NAME, `DIR/.wh..wh..opq` an opaque marker for DIR).
//
// The shape is the layer codec's (server/src/engine/layer/entry.ts) plus `mtimeNs`, so that the
// codec's values are accepted as they are and scan's nanosecond times survive.

export type LayerEntryType =
  | 'file'
  | 'dir'
  | 'symlink'
  | 'hardlink'
  | 'whiteout' // `path` was deleted: hides `path` of lower layers
  | 'opaque' // `path` is a directory whose lower contents are hidden
  | 'fifo'
  | 'char'
  | 'block';

export interface LayerEntry {
  type: LayerEntryType;
  /**
   * Path inside the layer: relative, '/'-separated, without '.', '..' or empty components, no
   * trailing '/' (see normalizeLayerPath). '.' names the layer's root ('dir' and 'opaque' only).
   */
  path: string;
  /** Permission bits including setuid/setgid/sticky (no file-type bits): 0 to 0o7777. */
  mode: number;
  /** Owner inside the container. */
  uid: number;
  gid: number;
  /** Modification time in seconds since the epoch (fractions allowed). */
  mtime: number;
  /** The same time in nanoseconds; when present it wins over `mtime`. scan always sets it. */
  mtimeNs?: bigint;
  /** Symlink target (verbatim; may be absolute: it is never followed out of the tree), or the
   * path of an earlier non-directory entry of the same layer for a hardlink. */
  linkname?: string;
  /** Size of a regular file's data. */
  size?: number;
  devmajor?: number;
  devminor?: number;
  /** Extended attributes, e.g. security.capability. overlayfs's own (`*.overlay.*`) are dropped. */
  xattrs?: Record<string, Uint8Array>;
}

/** A regular file's bytes travel beside its entry: a buffer, or a stream read before the next entry. */
export type EntryData = Uint8Array | AsyncIterable<Uint8Array>;

export interface EntryWithData {
  entry: LayerEntry;
  /** Required for 'file' entries with size > 0; exactly `size` bytes. */
  data?: EntryData;
}

/** Limits strata-box enforces (native/src/records.h); a layer beyond them is refused. */
export const ENTRY_LIMITS = {
  pathBytes: 4095,
  nameBytes: 255,
  depth: 256,
  linkBytes: 4095,
  xattrBlockBytes: 1 << 20,
  xattrValueBytes: 65536,
} as const;

/**
 * A tar member name in the canonical form of `LayerEntry.path`: leading '/' and './' removed (as tar
 * extractors do), trailing '/' removed, '.' components dropped, '' and './' become '.'. Returns
 * undefined for a name with a '..' component, which no layer may contain; callers refuse it.
 */
export function normalizeLayerPath(name: string): string | undefined {
  const parts: string[] = [];
  for (const part of name.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') return undefined;
    parts.push(part);
  }
  return parts.length === 0 ? '.' : parts.join('/');
}

const NS_PER_SEC = 1_000_000_000n;

/** The entry's time in nanoseconds (from `mtimeNs`, else `mtime`). */
export function entryMtimeNs(entry: LayerEntry): bigint {
  if (entry.mtimeNs !== undefined) return entry.mtimeNs;
  const sec = Math.floor(entry.mtime);
  const ns = Math.min(999_999_999, Math.round((entry.mtime - sec) * 1e9));
  return BigInt(sec) * NS_PER_SEC + BigInt(ns);
}

/** What strata-box apply and scan both count, per kind of entry. */
export interface EntryCounts {
  entries: number;
  dirs: number;
  files: number;
  symlinks: number;
  hardlinks: number;
  whiteouts: number;
  opaques: number;
  /** Device nodes and fifos. */
  nodes: number;
  /** File data bytes. */
  bytes: number;
}
