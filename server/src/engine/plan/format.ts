// The plan file: a list of records `TAG LEN\nVALUE\n`, VALUE being LEN bytes (any bytes, newlines
// included), so that the C front end parses it with a dozen lines and no JSON or escaping.
// Tags are documented in README.md in this folder.
export class PlanWriter {
  private readonly parts: Buffer[] = [];

  add(tag: string, value: string): this {
    const bytes = Buffer.from(value, 'utf8');
    this.parts.push(Buffer.from(`${tag} ${bytes.length}\n`), bytes, Buffer.from('\n'));
    return this;
  }

  bytes(): Buffer {
    return Buffer.concat(this.parts);
  }
}

/** Parses a plan (for tests and for `strata` itself when it inspects one). */
export function parsePlan(data: Buffer): { tag: string; value: string }[] {
  const out: { tag: string; value: string }[] = [];
  let at = 0;
  while (at < data.length) {
    const nl = data.indexOf(0x0a, at);
    if (nl < 0) throw new Error('plan: truncated header');
    const [tag, len] = data.subarray(at, nl).toString().split(' ');
    const n = Number(len);
    if (!tag || !Number.isInteger(n) || n < 0 || nl + 1 + n + 1 > data.length)
      throw new Error('plan: bad record');
    out.push({ tag, value: data.subarray(nl + 1, nl + 1 + n).toString('utf8') });
    at = nl + 1 + n + 1;
  }
  return out;
}
