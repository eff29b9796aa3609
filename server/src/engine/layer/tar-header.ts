// Deterministic tar headers (POSIX ustar + PAX extended headers where ustar cannot hold a value).
// Written here rather than through tar-stream's packer so that the bytes depend only on the entry:
// no user or group names, no atime/ctime, PAX records sorted by key, a fixed PAX header name.
import { entryMtimeNs } from '../sandbox/entry';
import type { LayerEntry } from './entry';

const BLOCK = 512;
const MAX_OCTAL_7 = 0o7777777; // uid, gid, mode fields (8 bytes: 7 digits + NUL)
const MAX_OCTAL_11 = 0o77777777777; // size, mtime fields (12 bytes)

const TYPEFLAG: Record<string, string> = {
  file: '0',
  hardlink: '1',
  symlink: '2',
  char: '3',
  block: '4',
  dir: '5',
  fifo: '6',
  whiteout: '0',
  opaque: '0',
};

/** The name an entry has inside the tar: dirs end in "/", whiteouts are `.wh.` files. */
export function tarName(entry: LayerEntry): string {
  if (entry.type === 'whiteout') {
    const slash = entry.path.lastIndexOf('/');
    return slash < 0
      ? `.wh.${entry.path}`
      : `${entry.path.slice(0, slash)}/.wh.${entry.path.slice(slash + 1)}`;
  }
  if (entry.type === 'opaque') return entry.path === '.' ? '.wh..wh..opq' : `${entry.path}/.wh..wh..opq`;
  if (entry.type === 'dir') return `${entry.path}/`;
  return entry.path;
}

function isAscii(s: string): boolean {
  return /^[\x01-\x7f]*$/.test(s);
}

function writeString(buf: Buffer, off: number, len: number, s: string): void {
  buf.write(s, off, len, 'utf8');
}

function writeOctal(buf: Buffer, off: number, len: number, n: number): void {
  writeString(buf, off, len - 1, n.toString(8).padStart(len - 1, '0'));
  buf[off + len - 1] = 0;
}

function paxRecord(key: string, value: Uint8Array): Buffer {
  // "%d %s=%s\n" where %d counts the whole record including its own digits.
  const body = Buffer.concat([Buffer.from(` ${key}=`), value, Buffer.from('\n')]);
  let len = body.length + 1;
  while (String(len).length + body.length !== len) len = String(len).length + body.length;
  return Buffer.concat([Buffer.from(String(len)), body]);
}

function header(
  name: string,
  typeflag: string,
  mode: number,
  uid: number,
  gid: number,
  size: number,
  mtime: number,
  linkname: string,
  devmajor: number,
  devminor: number,
): Buffer {
  const h = Buffer.alloc(BLOCK);
  writeString(h, 0, 100, name);
  writeOctal(h, 100, 8, mode);
  writeOctal(h, 108, 8, uid);
  writeOctal(h, 116, 8, gid);
  writeOctal(h, 124, 12, size);
  writeOctal(h, 136, 12, mtime);
  h.fill(0x20, 148, 156); // checksum computed with spaces in its place
  h.write(typeflag, 156, 1, 'ascii');
  writeString(h, 157, 100, linkname);
  h.write('ustar\0', 257, 6, 'ascii');
  h.write('00', 263, 2, 'ascii');
  writeOctal(h, 329, 8, devmajor);
  writeOctal(h, 337, 8, devminor);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += h[i]!;
  writeString(h, 148, 7, sum.toString(8).padStart(6, '0') + '\0');
  return h;
}

/** Truncates to at most `max` bytes without cutting a UTF-8 sequence. */
function truncateUtf8(s: string, max: number): string {
  const b = Buffer.from(s);
  if (b.length <= max) return s;
  let end = max;
  while (end > 0 && (b[end]! & 0xc0) === 0x80) end--;
  return b.subarray(0, end).toString('utf8');
}

/**
 * The header block(s) of an entry: a PAX header first when a value does not fit ustar, then the
 * ustar header. `epoch` clamps mtime (SOURCE_DATE_EPOCH semantics: never later than the epoch).
 */
export function encodeHeader(entry: LayerEntry, epoch?: number): Buffer {
  const name = tarName(entry);
  const linkname = entry.linkname ?? '';
  const size = entry.type === 'file' ? (entry.size ?? 0) : 0;
  let mtime = Math.max(0, Number(entryMtimeNs(entry) / 1_000_000_000n));
  if (epoch !== undefined && mtime > epoch) mtime = epoch;
  const isWhiteout = entry.type === 'whiteout' || entry.type === 'opaque';
  const mode = isWhiteout ? 0 : entry.mode & 0o7777;
  const uid = isWhiteout ? 0 : entry.uid;
  const gid = isWhiteout ? 0 : entry.gid;

  const pax: [string, Buffer][] = [];
  if (Buffer.byteLength(name) > 100 || !isAscii(name)) pax.push(['path', Buffer.from(name)]);
  if (Buffer.byteLength(linkname) > 100 || !isAscii(linkname)) pax.push(['linkpath', Buffer.from(linkname)]);
  if (uid > MAX_OCTAL_7) pax.push(['uid', Buffer.from(String(uid))]);
  if (gid > MAX_OCTAL_7) pax.push(['gid', Buffer.from(String(gid))]);
  if (size > MAX_OCTAL_11) pax.push(['size', Buffer.from(String(size))]);
  for (const [k, v] of Object.entries(entry.xattrs ?? {})) pax.push([`SCHILY.xattr.${k}`, Buffer.from(v)]);
  pax.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));

  const main = header(
    truncateUtf8(name, 100),
    TYPEFLAG[entry.type]!,
    mode,
    Math.min(uid, MAX_OCTAL_7),
    Math.min(gid, MAX_OCTAL_7),
    Math.min(size, MAX_OCTAL_11),
    Math.min(mtime, MAX_OCTAL_11),
    truncateUtf8(linkname, 100),
    entry.devmajor ?? 0,
    entry.devminor ?? 0,
  );
  if (pax.length === 0) return main;
  const body = Buffer.concat(pax.map(([k, v]) => paxRecord(k, v)));
  const base = name.replace(/\/$/, '').split('/').pop() ?? '';
  const paxName = truncateUtf8(`PaxHeaders.0/${base}`, 100);
  const paxHeader = header(paxName, 'x', 0o644, 0, 0, body.length, Math.min(mtime, MAX_OCTAL_11), '', 0, 0);
  return Buffer.concat([paxHeader, body, Buffer.alloc(padding(body.length)), main]);
}

/** Zero bytes after `size` bytes of data, up to the next 512-byte boundary. */
export function padding(size: number): number {
  return (BLOCK - (size % BLOCK)) % BLOCK;
}

/** The end-of-archive marker: two zero blocks. */
export const END_OF_ARCHIVE = Buffer.alloc(2 * BLOCK);

/** Byte-wise comparison of tar names, the order in which Strata writes entries. */
export function compareBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}
