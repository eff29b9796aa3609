// Limits that keep a hostile layer from exhausting the machine. Real layers stay far below them.

export interface LayerLimits {
  /** Longest entry path in bytes (Linux PATH_MAX). */
  maxPathBytes: number;
  /** Longest path component in bytes (NAME_MAX). */
  maxNameBytes: number;
  /** Deepest path, in components. */
  maxDepth: number;
  /** Most uncompressed bytes one layer may expand to. */
  maxUncompressedBytes: number;
  /** Past `ratioFloorBytes` of output, the largest allowed uncompressed/compressed ratio (gzip bombs). */
  maxRatio: number;
  ratioFloorBytes: number;
  /** Most entries one layer may hold. */
  maxEntries: number;
  /** Largest uid or gid (ids beyond 2^32-2 cannot exist; -1 is "no change" to chown). */
  maxId: number;
  /** Most bytes of xattr values per entry. */
  maxXattrBytes: number;
}

export const DEFAULT_LIMITS: LayerLimits = {
  maxPathBytes: 4095,
  maxNameBytes: 255,
  maxDepth: 256,
  maxUncompressedBytes: Number(process.env.STRATA_MAX_LAYER_BYTES) || 64 * 1024 ** 3,
  maxRatio: 400,
  ratioFloorBytes: 256 * 1024 ** 2,
  maxEntries: 4_000_000,
  maxId: 0xfffffffe,
  maxXattrBytes: 64 * 1024,
};
