// Unpacks layer entries into a directory through `strata-box apply`, which resolves every path
// inside the directory and writes whiteouts and opaque markers in the form overlayfs honours.
// The entries are streamed (file data in the chunks it comes in); the caller unpacks into a temp
// dir and renames it into place only when this resolves, and discards it when it throws.
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { StrataError } from '../errors';
import { cancelled, failureFromExit, failureFromSummary, spawnBox } from './child';
import type { EntryCounts, EntryWithData } from './entry';
import { coalesce, decodeRecords, encodeEntries } from './records';

export interface ApplyOptions {
  signal?: AbortSignal;
  /**
   * Where opaque-directory markers go: `user.overlay.opaque` (overlay mounted with `userxattr`, as
   * rootless and in user namespaces), `trusted.overlay.opaque` (mounted by real root), or both.
   * Default: both as root, user otherwise. Whiteouts are 0:0 character devices in every case.
   */
  overlayXattrs?: 'user' | 'trusted' | 'both';
  /**
   * Unprivileged callers: write inside a user namespace with the mapping `strata-box run` uses
   * (container root = the caller, plus the /etc/subuid range), so the layer's owners are applied
   * as the container will see them. The tree's files then belong to those ids: remove it through
   * the same kind of namespace. Ignored as real root, which applies owners anyway.
   */
  userns?: boolean;
  /** Names the layer in error messages (e.g. "layer sha256:ab12… of debian:bookworm"). */
  where?: string;
}

/** What strata-box apply reports when it has written every entry. */
export interface ApplySummary extends EntryCounts {
  /** Character and block devices that could not be made without privilege (rootless). */
  skippedDevices: number;
  /** xattrs the file system or our privilege refused (e.g. trusted.* or security.capability rootless). */
  skippedXattrs: number;
  /** overlayfs's own xattrs found in the layer and not copied. */
  droppedOverlayXattrs: number;
  /** Entries owned by someone other than 0:0 whose owner could not be set (rootless). */
  ownershipNotApplied: number;
  /** "openat2", or "walk" on kernels without it. */
  resolver: string;
}

export async function applyEntries(
  dir: string,
  entries: AsyncIterable<EntryWithData> | Iterable<EntryWithData>,
  options: ApplyOptions = {},
): Promise<ApplySummary> {
  const { signal, where } = options;
  const args = [
    'apply',
    ...(options.overlayXattrs ? ['--overlay-xattrs', options.overlayXattrs] : []),
    ...(options.userns ? ['--userns'] : []),
    dir,
  ];
  const box = spawnBox(args, signal);
  const result = (async () => {
    for await (const rec of decodeRecords(box.child.stdout!)) if ('kind' in rec) return rec.summary;
    return undefined;
  })().catch(() => undefined);

  let inputError: unknown;
  try {
    await pipeline(
      Readable.from(coalesce(encodeEntries(entries))),
      box.child.stdin!,
      signal ? { signal } : {},
    );
  } catch (e) {
    inputError = e;
  }
  if (signal?.aborted) {
    box.kill();
    await box.exited;
    throw cancelled('apply');
  }
  // The entries themselves failed (a bad tar, a digest mismatch): stop the helper, report that.
  if (inputError !== undefined && !isBrokenPipe(inputError)) {
    box.kill();
    await box.exited;
    if (inputError instanceof StrataError) throw inputError;
    throw new StrataError(
      'LAYER',
      `${where ? `${where}: ` : ''}reading the layer's entries failed: ${String(inputError)}`,
      undefined,
      {
        cause: inputError,
      },
    );
  }
  const [summary, status] = await Promise.all([result, box.exited]);
  if (signal?.aborted) throw cancelled('apply');
  if (summary && summary.ok === true && status.code === 0) return summary as unknown as ApplySummary;
  if (summary && summary.ok === false) throw failureFromSummary('apply', summary, where);
  throw failureFromExit('apply', status, box.stderr(), where);
}

function isBrokenPipe(e: unknown): boolean {
  const code = (e as { code?: string } | undefined)?.code;
  return code === 'EPIPE' || code === 'ERR_STREAM_PREMATURE_CLOSE' || code === 'ECONNRESET';
}
