// strata.lock (DESIGN §4): what a build resolved, so that another machine builds the same bits.
// Field order here is the order written to the file; see format.ts.

export const LOCK_VERSION = 1;

export interface LockLayer {
  /** Compressed blob digest (sha256:...). */
  digest: string;
  /** Uncompressed tar digest (sha256:...). */
  diffId: string;
  /** Compressed size in bytes. */
  size: number;
}

/** A Debian package a step installed or upgraded. */
export interface AptPin {
  name: string;
  version: string;
}

/** A Python distribution a step installed, with the sha256 of the file pip installed it from. */
export interface PipPin {
  name: string;
  version: string;
  sha256?: string;
}

export interface LockStep {
  /** The step as written in the spec, one line (e.g. `apt: ["python3-numpy"]`). */
  step: string;
  /** Digest of the step's canonical definition (lsp/spec.ts stepDigest). */
  definition: string;
  /** The build cache key (parents, definition, copied content, platform, format version). */
  key: string;
  layer: LockLayer;
  apt?: AptPin[];
  pip?: PipPin[];
}

export interface Lock {
  lockVersion: number;
  spec: {
    /** Digest of the canonical spec (image-relevant fields only). */
    digest: string;
    /** Short digest of each top-level field, to name what changed when the lock is stale. */
    fields: Record<string, string>;
  };
  platform: string;
  /** Seconds since 1970: file times are clamped to it, and it is SOURCE_DATE_EPOCH in steps. */
  epoch: number;
  base: {
    ref: string;
    /** Manifest digest the ref resolved to; absent for scratch. */
    digest?: string;
    layers: LockLayer[];
  };
  steps: LockStep[];
  image: {
    config: string;
    manifest: string;
  };
}
