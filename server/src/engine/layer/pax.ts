// tar-stream decodes PAX records as UTF-8, which mangles binary xattr values such as
// security.capability (GNU tar and Go's archive/tar write SCHILY.xattr.* values raw). We decode the
// PAX records of one extractor ourselves: values of SCHILY.xattr.* as latin1 (byte-preserving; the
// reader turns them back into Buffers), everything else as UTF-8. The override is per instance;
// test/unit/engine/layer-read.test.ts pins the behaviour, so a tar-stream upgrade that changes the
// private method breaks a test, not users' capabilities.
import type { Extract } from 'tar-stream';

function decodePax(buf: Buffer): Record<string, string> {
  const result: Record<string, string> = {};
  let off = 0;
  while (off < buf.length) {
    const space = buf.indexOf(0x20, off);
    if (space < 0) break;
    const len = parseInt(buf.toString('ascii', off, space), 10);
    if (!(len > 0) || off + len > buf.length) break;
    const record = buf.subarray(space + 1, off + len - 1); // drop the trailing "\n"
    const eq = record.indexOf(0x3d);
    if (eq < 0) break;
    const key = record.toString('utf8', 0, eq);
    result[key] = key.startsWith('SCHILY.xattr.')
      ? record.toString('latin1', eq + 1)
      : record.toString('utf8', eq + 1);
    off += len;
  }
  return result;
}

interface ExtractInternals {
  _header: { type: string };
  _pax: Record<string, string> | null;
  _paxGlobal: Record<string, string> | null;
  _decodeLongHeader(buf: Buffer): void;
}

export function decodePaxBinarySafe(extract: Extract): void {
  const x = extract as unknown as ExtractInternals;
  const original = x._decodeLongHeader.bind(x);
  x._decodeLongHeader = (buf: Buffer) => {
    if (x._header.type === 'pax-header') {
      x._pax = { ...(x._paxGlobal ?? {}), ...decodePax(Buffer.from(buf)) };
    } else if (x._header.type === 'pax-global-header') {
      x._paxGlobal = decodePax(Buffer.from(buf));
    } else {
      original(buf);
    }
  };
}
