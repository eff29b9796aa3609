// Test helper: writes tar archives byte by byte, including the malformed and hostile ones no
// well-behaved tar writer would produce (NUL in PAX paths, sizes that lie, sparse claims).
import * as zlib from 'node:zlib';

export interface RawEntry {
  name: string;
  /** ustar typeflag: '0' file, '1' hardlink, '2' symlink, '3' char, '4' block, '5' dir, 'x' pax, 'L' GNU long name, 'S' GNU sparse. */
  type?: string;
  data?: Buffer | string;
  /** Size written in the header (default: data length); a lie makes a header larger than its data. */
  size?: number;
  linkname?: string;
  mode?: number;
  uid?: number;
  gid?: number;
  mtime?: number;
  devmajor?: number;
  devminor?: number;
  /** PAX records written in an 'x' header before this entry (values as given, bytes included). */
  pax?: Record<string, string | Buffer>;
  /** A GNU 'L' long-name header before this entry. */
  gnuLongName?: string;
}

function octal(buf: Buffer, off: number, len: number, n: number): void {
  buf.write(
    n
      .toString(8)
      .padStart(len - 1, '0')
      .slice(-(len - 1)) + '\0',
    off,
    len,
    'ascii',
  );
}

function header(e: RawEntry, size: number): Buffer {
  const h = Buffer.alloc(512);
  h.write(e.name, 0, 100, 'utf8');
  octal(h, 100, 8, e.mode ?? (e.type === '5' ? 0o755 : 0o644));
  octal(h, 108, 8, Math.min(e.uid ?? 0, 0o7777777));
  octal(h, 116, 8, Math.min(e.gid ?? 0, 0o7777777));
  octal(h, 124, 12, size);
  octal(h, 136, 12, e.mtime ?? 1700000000);
  h.fill(0x20, 148, 156);
  h.write(e.type ?? '0', 156, 1, 'ascii');
  h.write(e.linkname ?? '', 157, 100, 'utf8');
  h.write('ustar\0', 257, 6, 'ascii');
  h.write('00', 263, 2, 'ascii');
  octal(h, 329, 8, e.devmajor ?? 0);
  octal(h, 337, 8, e.devminor ?? 0);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'ascii');
  return h;
}

function pad(n: number): Buffer {
  return Buffer.alloc((512 - (n % 512)) % 512);
}

function paxBody(pax: Record<string, string | Buffer>): Buffer {
  const parts: Buffer[] = [];
  for (const [k, v] of Object.entries(pax)) {
    const body = Buffer.concat([
      Buffer.from(` ${k}=`),
      Buffer.isBuffer(v) ? v : Buffer.from(v),
      Buffer.from('\n'),
    ]);
    let len = body.length + 1;
    while (String(len).length + body.length !== len) len = String(len).length + body.length;
    parts.push(Buffer.concat([Buffer.from(String(len)), body]));
  }
  return Buffer.concat(parts);
}

/** A tar archive of `entries` (with the end-of-archive marker unless `truncate`). */
export function rawTar(entries: RawEntry[], options: { truncate?: boolean } = {}): Buffer {
  const out: Buffer[] = [];
  for (const e of entries) {
    if (e.pax) {
      const body = paxBody(e.pax);
      out.push(header({ name: 'PaxHeaders.0/x', type: 'x' }, body.length), body, pad(body.length));
    }
    if (e.gnuLongName !== undefined) {
      const body = Buffer.from(e.gnuLongName + '\0');
      const h = header({ name: '././@LongLink', type: 'L' }, body.length);
      h.write('ustar  \0', 257, 8, 'ascii'); // GNU magic
      let sum = 0;
      h.fill(0x20, 148, 156);
      for (const b of h) sum += b;
      h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'ascii');
      out.push(h, body, pad(body.length));
    }
    const data = e.data === undefined ? Buffer.alloc(0) : Buffer.from(e.data);
    out.push(header(e, e.size ?? data.length), data, pad(data.length));
  }
  if (!options.truncate) out.push(Buffer.alloc(1024));
  return Buffer.concat(out);
}

export function gzip(b: Buffer): Buffer {
  return zlib.gzipSync(b, { level: 6 });
}
