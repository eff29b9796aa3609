// HTTP range answers (RFC 9110 §14.4): a resumed blob download asks `Range: bytes=N-` and accepts a
// 206 only when its Content-Range says it starts at N and runs to the blob's last byte.

/**
 * The first byte of a `Content-Range: bytes START-END/TOTAL` answer that runs to the end of a blob
 * of `size` bytes (TOTAL may be `*`); undefined for anything else (absent, malformed, another range).
 */
export function contentRangeStart(header: string | string[] | undefined, size: number): number | undefined {
  if (typeof header !== 'string') return undefined;
  const m = /^\s*bytes\s+(\d+)-(\d+)\/(\d+|\*)\s*$/i.exec(header);
  if (!m) return undefined;
  const start = Number(m[1]);
  const end = Number(m[2]);
  if (end !== size - 1 || start > end) return undefined;
  if (m[3] !== '*' && Number(m[3]) !== size) return undefined;
  return start;
}
