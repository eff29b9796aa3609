// One entry of a layer, as the codec reads it from a tar and writes it into one: the form that
// `strata-box apply` consumes and `strata-box scan` produces (via engine/sandbox). Paths are
// relative to the layer root, normalised ("usr/bin/env"), never absolute, never with "..".
// Whiteouts are entries of their own type (the tar form `.wh.NAME` is decoded by the reader and
// encoded by the writer), so nothing downstream has to know the tar spelling.

export type LayerEntryType =
  | 'file'
  | 'dir'
  | 'symlink'
  | 'hardlink'
  | 'whiteout' // `path` was deleted
  | 'opaque' // `path` is a directory whose lower contents are hidden
  | 'fifo'
  | 'char'
  | 'block';

export interface LayerEntry {
  type: LayerEntryType;
  path: string;
  /** Permission bits including setuid/setgid/sticky (no file-type bits). */
  mode: number;
  uid: number;
  gid: number;
  /** Modification time, whole seconds since the epoch. */
  mtime: number;
  /** Symlink target (may be absolute: it is never followed) or hardlink target path in the layer. */
  linkname?: string;
  /** Size of the data of a regular file. */
  size?: number;
  devmajor?: number;
  devminor?: number;
  xattrs?: Record<string, Buffer>;
}

/** A regular file's bytes travel beside its entry: a buffer, or a stream read before the next entry. */
export type EntryData = Buffer | AsyncIterable<Uint8Array>;

export interface EntryWithData {
  entry: LayerEntry;
  data?: EntryData;
}
