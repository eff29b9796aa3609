// Reads an overlay upper dir back as layer entries through `strata-box scan`: byte-sorted paths,
// whiteouts and opaque dirs as entries of their own, hardlinks as links to the first path, owners
// mapped back to ids inside the container. The build engine writes a deterministic tar from them.
import { StrataError } from '../errors';
import { cancelled, failureFromExit, failureFromSummary, spawnBox } from './child';
import type { EntryCounts, EntryWithData } from './entry';
import { decodeRecords } from './records';

/** One line of a container's id mapping, as in /proc/PID/uid_map. */
export interface IdMapping {
  /** First id inside the container. */
  inside: number;
  /** The host id it is. */
  outside: number;
  count: number;
}

export interface ScanOptions {
  signal?: AbortSignal;
  /** The container's uid mapping; without it owners are reported as the host ids. */
  uidMap?: IdMapping[];
  gidMap?: IdMapping[];
  /**
   * Unprivileged callers: read inside a user namespace with the mapping `strata-box run` uses, so
   * the kernel maps owners back and files of every mapped id are readable (needed when the
   * container used a subordinate id range). Excludes uidMap/gidMap. Ignored as real root.
   */
  userns?: boolean;
  /**
   * With userns: map the invoking user alone (`strata-box scan --single-id`), as build steps run
   * (`run --single-id`): no newuidmap for a user with a subuid range, about 10 ms a scan.
   */
  singleId?: boolean;
  /** Names the upper dir in error messages (e.g. "step 2 (apt)"). */
  where?: string;
}

export interface ScanSummary extends EntryCounts {
  /** Sockets left in the upper dir, which a layer cannot hold. */
  skippedSockets: number;
  /** Entries whose host owner is outside the mapping (reported as 65534). */
  unmappedOwners: number;
}

function mapArgs(flag: string, map: IdMapping[] | undefined): string[] {
  return (map ?? []).flatMap((m) => [flag, `${m.inside}:${m.outside}:${m.count}`]);
}

/**
 * The upper dir's entries, the root ('.') first. A file's data must be read (or abandoned) before
 * the next entry is asked for. The generator's return value is the summary. Breaking out of the
 * loop early stops the helper.
 */
export async function* scanUpperDir(
  dir: string,
  options: ScanOptions = {},
): AsyncGenerator<EntryWithData, ScanSummary> {
  const { signal, where } = options;
  const box = spawnBox(
    [
      'scan',
      ...mapArgs('--uid-map', options.uidMap),
      ...mapArgs('--gid-map', options.gidMap),
      ...(options.userns ? ['--userns'] : []),
      ...(options.userns && options.singleId ? ['--single-id'] : []),
      dir,
    ],
    signal,
  );
  box.child.stdin!.end();
  // A file's data is read by the consumer, outside this generator: a failure there (the helper
  // killed by the signal, or stopped by an error) must still come out as the right error.
  async function* guarded(data: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
    try {
      yield* data;
    } catch (e) {
      if (signal?.aborted) throw cancelled('scan');
      const status = await box.exited;
      if (status.code !== 0) throw failureFromExit('scan', status, box.stderr(), where);
      throw e;
    }
  }
  let summary: Record<string, unknown> | undefined;
  try {
    try {
      for await (const rec of decodeRecords(box.child.stdout!)) {
        if ('kind' in rec) {
          summary = rec.summary;
          break;
        }
        const { entry, data } = rec;
        yield data && !(data instanceof Uint8Array) ? { entry, data: guarded(data) } : rec;
      }
    } catch (e) {
      if (signal?.aborted) throw cancelled('scan');
      const status = await box.exited;
      if (status.code !== 0) throw failureFromExit('scan', status, box.stderr(), where);
      throw e instanceof StrataError
        ? e
        : new StrataError('SANDBOX', `reading strata-box scan output failed`, undefined, { cause: e });
    }
    const status = await box.exited;
    if (signal?.aborted) throw cancelled('scan');
    if (summary?.ok === false) throw failureFromSummary('scan', summary, where);
    if (!summary || status.code !== 0) throw failureFromExit('scan', status, box.stderr(), where);
    return summary as unknown as ScanSummary;
  } finally {
    box.kill();
    await box.exited;
  }
}
