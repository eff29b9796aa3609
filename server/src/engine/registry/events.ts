// Progress events of pulls and pushes, for the CLI's progress bars and --json, and the language
// server's $/progress. Byte counts are cumulative per blob.

export type TransferEvent =
  /** The manifest was found: where, which digest, for which platform, how much to move. */
  | {
      type: 'resolved';
      ref: string;
      digest: string;
      platform?: string;
      from: string;
      blobs: number;
      bytes: number;
    }
  /** Bytes of one blob moved so far (`done` of `total`); `skipped` when it was already there. */
  | {
      type: 'blob';
      digest: string;
      role: 'config' | 'layer' | 'manifest';
      done: number;
      total: number;
      skipped?: 'present' | 'mounted';
    }
  /** A layer tree is being (or has been) unpacked. */
  | { type: 'unpack'; diffId: string; done: boolean }
  | { type: 'done'; ref: string; digest: string; bytes: number };

export type TransferListener = (event: TransferEvent) => void;

/** Calls `listener` with a blob's byte progress at most every `step` bytes (and at the end). */
export function byteProgress(
  listener: TransferListener | undefined,
  digest: string,
  role: 'config' | 'layer' | 'manifest',
  total: number,
  step = 256 << 10,
): (done: number) => void {
  let last = -1;
  return (done) => {
    if (!listener) return;
    if (done === total || done - last >= step) {
      last = done;
      listener({ type: 'blob', digest, role, done, total });
    }
  };
}
