// `strata gc`: under the store's exclusive lock (pulls and builds finish first; new ones wait),
// mark what named images, build cache entries and live leases reach, then remove every other blob,
// layer tree and stale temp file. Refuses to sweep when a root cannot be read (that could make
// reachable content look unreachable): fsck says what is wrong, fsck --repair fixes it.
// Housekeeping beside the sweep (store/README.md "Housekeeping"): temp entries that carry no owner
// pid once they are old (partial downloads, scratch dirs of crashed runs), copy-content digests of
// sources that are gone, and build logs beyond the last two of each image.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { StrataError } from '../errors';
import { fsyncDir, pidOfTempName } from './fsutil';
import { removeTreeForce } from './layer-trees';
import { pidAlive, WaitOptions } from './lock';
import { markReachable } from './reach';
import type { Store } from './store';

export interface GcReport {
  removedBlobs: number;
  removedTrees: number;
  removedTemp: number;
  /** Copy steps' content digests whose source is gone (cache/copy-content/). */
  removedCopyDigests: number;
  /** Build logs beyond the last two of an image, or of names with no image left. */
  removedLogs: number;
  freedBytes: number;
  keptBlobs: number;
  keptTrees: number;
  /** Entries that could not be removed, each with why (gc goes on without them). */
  notRemoved: string[];
}

function sizeOf(p: string): number {
  let total = 0;
  const st = fs.lstatSync(p, { throwIfNoEntry: false });
  if (!st) return 0;
  if (!st.isDirectory()) return st.size;
  try {
    for (const e of fs.readdirSync(p)) total += sizeOf(path.join(p, e));
  } catch {
    /* a folder of another id (a range user's container wrote it): counted as empty */
  }
  return total;
}

/** Temp entries (in tmp/, not locks/) whose owner process is gone. */
export function staleTempEntries(store: Store): string[] {
  const out: string[] = [];
  for (const name of fs.readdirSync(store.paths.tmp)) {
    if (name === 'locks') continue;
    const pid = pidOfTempName(name);
    if (pid !== undefined && !pidAlive(pid)) out.push(name);
  }
  return out;
}

/**
 * How long a temp entry without an owner pid in its name stays (a partial download kept for a
 * resumed pull, a foreign tool's file). Only gc and fsck --repair remove them, under the exclusive
 * lock, so no pull or build is writing them then.
 */
export const AGED_TEMP_MS = 24 * 3600_000;
/** How old a run scratch dir (`run-<id>-<hex>`, engine/run) must be before gc may remove it. */
export const AGED_RUN_MS = 3600_000;
/** A run makes its dir just before its lease; a dir this much older than every live lease is no live run's. */
const LEASE_SLACK_MS = 60_000;

/** Newest modification time of an entry and, for a folder, of its direct children. */
function newestMtimeMs(p: string): number {
  const st = fs.lstatSync(p, { throwIfNoEntry: false });
  if (!st) return 0;
  let newest = st.mtimeMs;
  if (st.isDirectory()) {
    try {
      for (const e of fs.readdirSync(p)) {
        const c = fs.lstatSync(path.join(p, e), { throwIfNoEntry: false });
        if (c && c.mtimeMs > newest) newest = c.mtimeMs;
      }
    } catch {
      /* unreadable inside: the folder's own time decides */
    }
  }
  return newest;
}

/** When the oldest lease of a live process was taken (Infinity when none is live). */
function oldestLiveLeaseMs(store: Store): number {
  let oldest = Infinity;
  let names: string[];
  try {
    names = fs.readdirSync(store.paths.locks);
  } catch {
    return oldest;
  }
  for (const name of names) {
    if (!name.startsWith('lease-') || !name.endsWith('.json')) continue;
    const file = path.join(store.paths.locks, name);
    try {
      const lease = JSON.parse(fs.readFileSync(file, 'utf8')) as { pid?: unknown };
      if (typeof lease.pid !== 'number' || !pidAlive(lease.pid)) continue;
      oldest = Math.min(oldest, fs.statSync(file).mtimeMs);
    } catch {
      /* a lease being written or removed */
    }
  }
  return oldest;
}

/**
 * Temp entries without an owner pid that no live work can be using: run scratch dirs older than
 * AGED_RUN_MS and older than every live lease (a running container holds a lease taken right after
 * its dir was made; a crashed run's lease died with it), and anything else older than AGED_TEMP_MS.
 * Call under the store's exclusive lock.
 */
export function agedTempEntries(store: Store, now = Date.now()): string[] {
  const out: string[] = [];
  const leasesFrom = oldestLiveLeaseMs(store);
  for (const name of fs.readdirSync(store.paths.tmp)) {
    if (name === 'locks' || pidOfTempName(name) !== undefined) continue;
    const mtime = newestMtimeMs(path.join(store.paths.tmp, name));
    if (name.startsWith('run-')) {
      if (now - mtime > AGED_RUN_MS && mtime < leasesFrom - LEASE_SLACK_MS) out.push(name);
    } else if (now - mtime > AGED_TEMP_MS) out.push(name);
  }
  return out;
}

/**
 * Copy-content digests (cache/copy-content/<id>, build/copy-digest-cache.ts) that can no longer
 * save a hashing: the source they describe is gone, the entry is unreadable or names no source (an
 * older format), or it is a temp file of a writer that died. A present source's entry stays, even
 * an old one: it costs one small file and saves reading every byte of the source.
 */
export function staleCopyDigests(store: Store): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(store.paths.copyContent);
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const name of names) {
    const tmp = /\.tmp-(\d+)-[0-9a-f]+$/.exec(name);
    if (tmp) {
      if (!pidAlive(Number(tmp[1]))) out.push(name);
      continue;
    }
    let source: unknown;
    try {
      source = (
        JSON.parse(fs.readFileSync(path.join(store.paths.copyContent, name), 'utf8')) as { source?: unknown }
      ).source;
    } catch {
      source = undefined;
    }
    if (typeof source !== 'string' || !path.isAbsolute(source) || !fs.existsSync(source)) out.push(name);
  }
  return out;
}

/** The image name a build log belongs to: `NAME.log` and `NAME.log.N` (build/log.ts). */
function logOwner(file: string): string | undefined {
  return /^(.+)\.log(?:\.\d+)?$/.exec(file)?.[1];
}

/**
 * Build logs to remove: beyond the two newest of each image name, and every log of a name the
 * store has no image `strata/NAME` for once the newest is older than AGED_TEMP_MS (a build that
 * failed keeps its log a day for reading).
 */
export function staleBuildLogs(store: Store, now = Date.now()): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(store.paths.logs);
  } catch {
    return [];
  }
  const byOwner = new Map<string, { name: string; mtime: number }[]>();
  for (const name of names) {
    const owner = logOwner(name);
    const st = owner ? fs.lstatSync(path.join(store.paths.logs, name), { throwIfNoEntry: false }) : undefined;
    if (!owner || !st?.isFile()) continue;
    byOwner.set(owner, [...(byOwner.get(owner) ?? []), { name, mtime: st.mtimeMs }]);
  }
  const out: string[] = [];
  for (const [owner, logs] of byOwner) {
    logs.sort((a, b) => b.mtime - a.mtime || a.name.localeCompare(b.name));
    const imageGone = !store.findImage(`strata/${owner}`) && now - logs[0]!.mtime > AGED_TEMP_MS;
    out.push(...logs.slice(imageGone ? 0 : 2).map((l) => l.name));
  }
  return out;
}

export async function gc(store: Store, options: WaitOptions & { dryRun?: boolean } = {}): Promise<GcReport> {
  return store.withExclusive(async () => {
    const reach = markReachable(store);
    const unreadable = reach.problems.filter((p) =>
      /not readable|not an image|not valid JSON|invalid/.test(p.message),
    );
    if (unreadable.length) {
      throw new StrataError(
        'STORE',
        `gc stopped before removing anything: ${unreadable[0]!.message}${unreadable.length > 1 ? ` (and ${unreadable.length - 1} more)` : ''}`,
        "run 'strata fsck' to see every problem and 'strata fsck --repair' to fix them",
      );
    }
    const report: GcReport = {
      removedBlobs: 0,
      removedTrees: 0,
      removedTemp: 0,
      removedCopyDigests: 0,
      removedLogs: 0,
      freedBytes: 0,
      keptBlobs: 0,
      keptTrees: 0,
      notRemoved: [],
    };
    // One entry that cannot be removed (files of ids the user cannot touch, without newuidmap)
    // must not stop the rest: it is reported, with why, and the sweep goes on.
    const remove = (p: string, tree: boolean): boolean => {
      const bytes = sizeOf(p);
      if (!options.dryRun) {
        try {
          if (tree) removeTreeForce(p);
          else fs.rmSync(p, { force: true });
        } catch (e) {
          report.notRemoved.push(`${path.relative(store.home, p)}: ${(e as Error).message}`);
          return false;
        }
      }
      report.freedBytes += bytes;
      return true;
    };
    for (const hex of fs.readdirSync(store.paths.blobs)) {
      if (reach.blobs.has(hex)) report.keptBlobs++;
      else if (remove(path.join(store.paths.blobs, hex), false)) report.removedBlobs++;
    }
    for (const name of fs.readdirSync(store.paths.layers)) {
      const hex = name.replace(/\.json$/, '');
      const isTree = !name.endsWith('.json');
      if (reach.trees.has(hex)) {
        if (isTree) report.keptTrees++;
      } else if (remove(path.join(store.paths.layers, name), isTree) && isTree) report.removedTrees++;
    }
    for (const name of [...staleTempEntries(store), ...agedTempEntries(store)])
      if (remove(path.join(store.paths.tmp, name), true)) report.removedTemp++;
    for (const name of staleCopyDigests(store))
      if (remove(path.join(store.paths.copyContent, name), false)) report.removedCopyDigests++;
    for (const name of staleBuildLogs(store))
      if (remove(path.join(store.paths.logs, name), false)) report.removedLogs++;
    if (!options.dryRun) {
      fsyncDir(store.paths.blobs);
      fsyncDir(store.paths.layers);
    }
    return report;
  }, options);
}
