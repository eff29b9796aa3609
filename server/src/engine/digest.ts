// A content digest, parsed once at the boundary (go-containerregistry's v1.Hash): after `parseDigest`
// the algorithm is known and the hex is exactly 64 lowercase characters, so `digest.hex` is safe to
// use as a file name. A digest string from a registry, a manifest, an index.json or the command
// line never becomes a path before it passes through here.
import { createHash, Hash } from 'node:crypto';
import { StrataError } from './errors';

export type DigestAlgorithm = 'sha256';

const DIGEST_RE = /^(sha256):([0-9a-f]{64})$/;

export class Digest {
  private constructor(
    readonly algorithm: DigestAlgorithm,
    readonly hex: string,
  ) {}

  /** `sha256:<hex>`, the form used in manifests, configs and index.json. */
  toString(): string {
    return `${this.algorithm}:${this.hex}`;
  }

  toJSON(): string {
    return this.toString();
  }

  equals(other: Digest | string): boolean {
    return this.toString() === other.toString();
  }

  /** Builds a digest from a hash result (still checked: the hex must be 64 lowercase characters). */
  static fromHex(algorithm: DigestAlgorithm, hex: string): Digest {
    return Digest.parse(`${algorithm}:${hex}`);
  }

  /** Parses `algorithm:hex`; throws a StrataError naming `where` (a file, a ref) on bad input. */
  static parse(text: unknown, where?: string): Digest {
    if (typeof text === 'string') {
      const m = DIGEST_RE.exec(text);
      if (m) return new Digest('sha256', m[2]!);
    }
    throw invalidDigest(text, where);
  }
}

/** Parses a digest string; `where` says where it came from, for the error message. */
export function parseDigest(text: unknown, where?: string): Digest {
  return Digest.parse(text, where);
}

function invalidDigest(text: unknown, where?: string): StrataError {
  const shown = typeof text === 'string' ? JSON.stringify(text.slice(0, 100)) : String(typeof text);
  const algo = typeof text === 'string' ? text.split(':')[0] : '';
  const hint =
    typeof text === 'string' && text.includes(':') && algo !== 'sha256'
      ? `only sha256 digests are supported; got algorithm '${algo}'`
      : 'a digest is "sha256:" followed by 64 lowercase hexadecimal characters';
  return new StrataError('DIGEST', `invalid digest ${shown}${where ? ` in ${where}` : ''}`, hint);
}

/** True when `text` is a well-formed digest (no exception). */
export function isDigest(text: unknown): text is string {
  return typeof text === 'string' && DIGEST_RE.test(text);
}

/** A running sha256 that yields a Digest. */
export class Digester {
  private readonly hash: Hash = createHash('sha256');
  private bytes = 0;

  update(chunk: Uint8Array): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
  }

  get size(): number {
    return this.bytes;
  }

  digest(): Digest {
    return Digest.fromHex('sha256', this.hash.digest('hex'));
  }
}

/** The sha256 digest of a buffer or string. */
export function digestOf(data: Uint8Array | string): Digest {
  return Digest.fromHex('sha256', createHash('sha256').update(data).digest('hex'));
}
