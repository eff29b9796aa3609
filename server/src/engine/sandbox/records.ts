// The framed record protocol spoken with `strata-box apply` and `strata-box scan` (version 1,
// specified in native/README.md, "Record protocol"; the C side is native/src/records.c).
//
//   stream  = header record* end
//   header  = "STRB" u16 version=1 u16 0                               (8 bytes)
//   record  = 56-byte fixed part, path, link, xattrs, data (files and end records only)
//
// Encoding and decoding are streaming: file data passes through in the chunks it arrives in and is
// never gathered whole, so a 50 MB layer costs the same memory as a small one.
import { StrataError } from '../errors';
import { entryMtimeNs } from './entry';
import type { EntryData, EntryWithData, LayerEntry, LayerEntryType } from './entry';

export const MAGIC = 'STRB';
export const VERSION = 1;
export const STREAM_HEADER_SIZE = 8;
export const RECORD_HEADER_SIZE = 56;
/** The largest JSON summary an end record may carry. */
export const MAX_SUMMARY_BYTES = 65536;

const KIND_TO_BYTE: Record<LayerEntryType | 'end', string> = {
  dir: 'd',
  file: 'f',
  symlink: 'l',
  hardlink: 'h',
  whiteout: 'w',
  opaque: 'o',
  char: 'c',
  block: 'b',
  fifo: 'p',
  end: 'E',
};
const BYTE_TO_KIND = new Map<number, LayerEntryType | 'end'>(
  Object.entries(KIND_TO_BYTE).map(([k, c]) => [c.charCodeAt(0), k as LayerEntryType | 'end']),
);

/** The last record of a stream: a JSON summary (or, from strata-box, what failed). */
export interface EndRecord {
  kind: 'end';
  summary: Record<string, unknown>;
}

const NS_PER_SEC = 1_000_000_000n;

function layerError(message: string, hint?: string): StrataError {
  return new StrataError('LAYER', message, hint);
}

export function encodeStreamHeader(): Buffer {
  const b = Buffer.alloc(STREAM_HEADER_SIZE);
  b.write(MAGIC, 0, 'latin1');
  b.writeUInt16LE(VERSION, 4);
  return b;
}

function checkU32(value: number, what: string, path: string): number {
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff)
    throw layerError(`entry '${path}': ${what} ${value} is not a 32-bit unsigned integer`);
  return value;
}

function encodeXattrs(xattrs: Record<string, Uint8Array> | undefined): Buffer {
  if (!xattrs) return Buffer.alloc(0);
  const parts: Buffer[] = [];
  for (const name of Object.keys(xattrs).sort()) {
    const n = Buffer.from(name, 'utf8');
    const v = xattrs[name];
    const lens = Buffer.alloc(6);
    lens.writeUInt16LE(n.length, 0);
    lens.writeUInt32LE(v.length, 2);
    parts.push(lens, n, Buffer.from(v.buffer, v.byteOffset, v.byteLength));
  }
  return Buffer.concat(parts);
}

/**
 * The fixed part, path, link and xattrs of one record. File data (entry.size bytes) must follow.
 * Paths are not judged here: strata-box is the one that refuses hostile ones.
 */
export function encodeRecordHeader(entry: LayerEntry): Buffer {
  const path = Buffer.from(entry.path, 'utf8');
  const link = Buffer.from(
    entry.type === 'symlink' || entry.type === 'hardlink' ? (entry.linkname ?? '') : '',
    'utf8',
  );
  const xattrs = encodeXattrs(entry.xattrs);
  if (path.length > 0xffff) throw layerError(`entry path of ${path.length} bytes cannot be framed`);
  if (link.length > 0xffff) throw layerError(`entry '${entry.path}': link target too long to frame`);
  if (xattrs.length > 0xffffffff) throw layerError(`entry '${entry.path}': xattrs too large`);
  const h = Buffer.alloc(RECORD_HEADER_SIZE);
  h.write(KIND_TO_BYTE[entry.type], 0, 'latin1');
  h.writeUInt16LE(path.length, 2);
  h.writeUInt16LE(link.length, 4);
  h.writeUInt32LE(checkU32(entry.mode, 'mode', entry.path), 8);
  h.writeUInt32LE(checkU32(entry.uid, 'uid', entry.path), 12);
  h.writeUInt32LE(checkU32(entry.gid, 'gid', entry.path), 16);
  const mtimeNs = entryMtimeNs(entry);
  let sec = mtimeNs / NS_PER_SEC;
  let nsec = mtimeNs % NS_PER_SEC;
  if (nsec < 0n) {
    sec -= 1n;
    nsec += NS_PER_SEC;
  }
  h.writeUInt32LE(Number(nsec), 20);
  h.writeBigInt64LE(BigInt.asIntN(64, sec), 24);
  if (entry.type === 'file') {
    const size = entry.size ?? 0;
    if (!Number.isSafeInteger(size) || size < 0)
      throw layerError(`entry '${entry.path}': size ${size} is not a valid file size`);
    h.writeBigUInt64LE(BigInt(size), 32);
  }
  if (entry.type === 'char' || entry.type === 'block') {
    h.writeUInt32LE(checkU32(entry.devmajor ?? 0, 'device major', entry.path), 40);
    h.writeUInt32LE(checkU32(entry.devminor ?? 0, 'device minor', entry.path), 44);
  }
  h.writeUInt32LE(xattrs.length, 48);
  return Buffer.concat([h, path, link, xattrs]);
}

export function encodeEnd(summary: Record<string, unknown> = {}): Buffer {
  const json = Buffer.from(JSON.stringify(summary), 'utf8');
  const h = Buffer.alloc(RECORD_HEADER_SIZE);
  h.write('E', 0, 'latin1');
  h.writeBigUInt64LE(BigInt(json.length), 32);
  return Buffer.concat([h, json]);
}

/** The chunks of an entry's data, whichever form it was given in. */
async function* dataChunks(data: EntryData | undefined): AsyncGenerator<Buffer> {
  if (data === undefined) return;
  if (data instanceof Uint8Array) {
    yield Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    return;
  }
  for await (const chunk of data)
    yield Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
}

/**
 * A whole stream: the header, each entry's record and data (checked to be exactly `size` bytes),
 * and the end record. File data is passed on in the chunks it comes in.
 */
export async function* encodeEntries(
  entries: AsyncIterable<EntryWithData> | Iterable<EntryWithData>,
): AsyncGenerator<Buffer> {
  yield encodeStreamHeader();
  let count = 0;
  for await (const { entry, data } of entries) {
    yield encodeRecordHeader(entry);
    if (entry.type === 'file') {
      const size = entry.size ?? 0;
      let sent = 0;
      for await (const chunk of dataChunks(data)) {
        sent += chunk.length;
        if (sent > size) throw layerError(`entry '${entry.path}': more data than its size of ${size} bytes`);
        yield chunk;
      }
      if (sent !== size)
        throw layerError(`entry '${entry.path}': ${sent} bytes of data, but its size is ${size}`);
    }
    count++;
  }
  yield encodeEnd({ entries: count });
}

/**
 * Merges small chunks (record headers, small files) into writes of up to `size` bytes, so a layer
 * of thousands of small entries costs a few hundred pipe writes, not two per entry. Chunks of
 * `passThrough` bytes or more (file data) go on as they are, uncopied.
 */
export async function* coalesce(
  source: AsyncIterable<Buffer>,
  size = 64 * 1024,
  passThrough = 16 * 1024,
): AsyncGenerator<Buffer> {
  let batch: Buffer[] = [];
  let batched = 0;
  for await (const chunk of source) {
    if (chunk.length >= passThrough) {
      if (batched > 0) yield Buffer.concat(batch, batched);
      batch = [];
      batched = 0;
      yield chunk;
      continue;
    }
    batch.push(chunk);
    batched += chunk.length;
    if (batched >= size) {
      yield Buffer.concat(batch, batched);
      batch = [];
      batched = 0;
    }
  }
  if (batched > 0) yield Buffer.concat(batch, batched);
}

/** Reads exact byte counts from a stream of chunks, keeping only what has not been consumed. */
export class ByteReader {
  private readonly it: AsyncIterator<Uint8Array>;
  private chunk: Buffer = Buffer.alloc(0);
  private done = false;
  /** Bytes consumed so far, for error messages. */
  offset = 0;

  constructor(source: AsyncIterable<Uint8Array>) {
    this.it = source[Symbol.asyncIterator]();
  }

  private async fill(): Promise<boolean> {
    while (this.chunk.length === 0) {
      if (this.done) return false;
      const next = await this.it.next();
      if (next.done) {
        this.done = true;
        return false;
      }
      const v = next.value;
      this.chunk = Buffer.isBuffer(v) ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength);
    }
    return true;
  }

  /** Up to `max` bytes (at least one), without copying; undefined at the end of the input. */
  async readSome(max: number): Promise<Buffer | undefined> {
    if (!(await this.fill())) return undefined;
    const n = Math.min(max, this.chunk.length);
    const out = this.chunk.subarray(0, n);
    this.chunk = this.chunk.subarray(n);
    this.offset += n;
    return out;
  }

  /** Exactly n bytes; undefined when the input ends first (after partial bytes too). */
  async readExact(n: number): Promise<Buffer | undefined> {
    if (this.chunk.length >= n) return (await this.readSome(n))!;
    const parts: Buffer[] = [];
    let got = 0;
    while (got < n) {
      const part = await this.readSome(n - got);
      if (!part) return undefined;
      parts.push(Buffer.from(part)); // a copy: the source may reuse its buffer
      got += part.length;
    }
    return Buffer.concat(parts, n);
  }

  /** True when no byte is left. */
  async atEnd(): Promise<boolean> {
    return !(await this.fill());
  }

  async return(): Promise<void> {
    await this.it.return?.();
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function decodeText(bytes: Buffer, what: string): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw layerError(
      `${what} ${JSON.stringify(bytes.toString('latin1'))} is not valid UTF-8`,
      'rename the file to a UTF-8 name',
    );
  }
}

function decodeXattrs(block: Buffer, path: string): Record<string, Uint8Array> | undefined {
  if (block.length === 0) return undefined;
  const out: Record<string, Uint8Array> = {};
  let off = 0;
  while (off < block.length) {
    if (block.length - off < 6) throw layerError(`entry '${path}': malformed xattr block`);
    const nlen = block.readUInt16LE(off);
    const vlen = block.readUInt32LE(off + 2);
    off += 6;
    if (nlen === 0 || block.length - off < nlen + vlen)
      throw layerError(`entry '${path}': malformed xattr block`);
    const name = decodeText(block.subarray(off, off + nlen), `xattr name of '${path}'`);
    out[name] = Buffer.from(block.subarray(off + nlen, off + nlen + vlen));
    off += nlen + vlen;
  }
  return out;
}

function truncated(reader: ByteReader, what: string): StrataError {
  return layerError(`record stream ended inside ${what} at byte ${reader.offset}`);
}

/**
 * Decodes a record stream into entries, then its end record. A file entry's `data` yields exactly
 * its bytes; whatever the consumer leaves unread is skipped when the next entry is asked for, and
 * reading it after that is an error (the bytes are gone: the stream is never buffered whole).
 */
export async function* decodeRecords(
  source: AsyncIterable<Uint8Array>,
): AsyncGenerator<EntryWithData | EndRecord> {
  const reader = new ByteReader(source);
  try {
    const header = await reader.readExact(STREAM_HEADER_SIZE);
    if (!header) throw truncated(reader, 'the stream header');
    if (header.toString('latin1', 0, 4) !== MAGIC) throw layerError('not a strata record stream (bad magic)');
    const version = header.readUInt16LE(4);
    if (version !== VERSION)
      throw layerError(`record protocol version ${version} is not supported (this engine speaks ${VERSION})`);
    for (;;) {
      const h = await reader.readExact(RECORD_HEADER_SIZE);
      if (!h) throw truncated(reader, 'a record header (no end record)');
      const kind = BYTE_TO_KIND.get(h[0]);
      if (!kind) throw layerError(`unknown record kind 0x${h[0].toString(16)} at byte ${reader.offset}`);
      const pathLen = h.readUInt16LE(2);
      const linkLen = h.readUInt16LE(4);
      const xattrLen = h.readUInt32LE(48);
      const size = h.readBigUInt64LE(32);
      if (kind === 'end') {
        if (size > BigInt(MAX_SUMMARY_BYTES)) throw layerError('end record summary too large');
        const json = size > 0n ? await reader.readExact(Number(size)) : Buffer.from('{}');
        if (!json) throw truncated(reader, 'the end record');
        yield { kind: 'end', summary: JSON.parse(json.toString('utf8')) as Record<string, unknown> };
        return;
      }
      const rest = await reader.readExact(pathLen + linkLen + xattrLen);
      if (!rest) throw truncated(reader, 'a record');
      const path = decodeText(rest.subarray(0, pathLen), 'path');
      const mtimeNs = h.readBigInt64LE(24) * NS_PER_SEC + BigInt(h.readUInt32LE(20));
      const entry: LayerEntry = {
        type: kind,
        path,
        mode: h.readUInt32LE(8),
        uid: h.readUInt32LE(12),
        gid: h.readUInt32LE(16),
        mtime: Number(h.readBigInt64LE(24)),
        mtimeNs,
      };
      const xattrs = decodeXattrs(rest.subarray(pathLen + linkLen), path);
      if (xattrs) entry.xattrs = xattrs;
      if (kind === 'symlink' || kind === 'hardlink')
        entry.linkname = decodeText(rest.subarray(pathLen, pathLen + linkLen), `link target of '${path}'`);
      if (kind === 'char' || kind === 'block') {
        entry.devmajor = h.readUInt32LE(40);
        entry.devminor = h.readUInt32LE(44);
      }
      if (kind === 'file') {
        if (size > BigInt(Number.MAX_SAFE_INTEGER))
          throw layerError(`entry '${path}': size ${size} too large`);
        entry.size = Number(size);
        const data = new FileData(reader, entry.size, path);
        yield { entry, data };
        await data.skipRest();
      } else {
        yield { entry };
      }
    }
  } finally {
    await reader.return();
  }
}

/** The data of one decoded file entry, read straight from the shared reader. */
class FileData implements AsyncIterable<Uint8Array> {
  private left: number;
  private closed = false;

  constructor(
    private readonly reader: ByteReader,
    size: number,
    private readonly path: string,
  ) {
    this.left = size;
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Uint8Array> {
    if (this.closed) throw layerError(`entry '${this.path}': its data was read after the next entry`);
    while (this.left > 0) {
      const chunk = await this.reader.readSome(Math.min(this.left, 1 << 20));
      if (!chunk) throw truncated(this.reader, `the data of '${this.path}'`);
      this.left -= chunk.length;
      yield chunk;
    }
  }

  async skipRest(): Promise<void> {
    this.closed = true;
    while (this.left > 0) {
      const chunk = await this.reader.readSome(Math.min(this.left, 1 << 20));
      if (!chunk) throw truncated(this.reader, `the data of '${this.path}'`);
      this.left -= chunk.length;
    }
  }
}
