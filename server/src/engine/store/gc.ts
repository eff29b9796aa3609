// `strata gc`: under the store's exclusive lock (pulls and builds finish first; new ones wait),
// mark what named images, build cache entries and live leases reach, then remove every other blob,
// layer tree and stale temp file. Refuses to sweep when a root cannot be read (that could make
// reachable content look unreachable): fsck says what is wrong, fsck --repair fixes it.
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
  freedBytes: number;
  keptBlobs: number;
  keptTrees: number;
}

function sizeOf(p: string): number {
  let total = 0;
  const st = fs.lstatSync(p, { throwIfNoEntry: false });
  if (!st) return 0;
  if (!st.isDirectory()) return st.size;
  for (const e of fs.readdirSync(p)) total += sizeOf(path.join(p, e));
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
      freedBytes: 0,
      keptBlobs: 0,
      keptTrees: 0,
    };
    for (const hex of fs.readdirSync(store.paths.blobs)) {
      if (reach.blobs.has(hex)) {
        report.keptBlobs++;
        continue;
      }
      const file = path.join(store.paths.blobs, hex);
      report.freedBytes += sizeOf(file);
      report.removedBlobs++;
      if (!options.dryRun) fs.rmSync(file, { force: true });
    }
    for (const name of fs.readdirSync(store.paths.layers)) {
      const hex = name.replace(/\.json$/, '');
      if (reach.trees.has(hex)) {
        if (!name.endsWith('.json')) report.keptTrees++;
        continue;
      }
      const p = path.join(store.paths.layers, name);
      report.freedBytes += sizeOf(p);
      if (!name.endsWith('.json')) report.removedTrees++;
      if (!options.dryRun) removeTreeForce(p);
    }
    for (const name of staleTempEntries(store)) {
      const p = path.join(store.paths.tmp, name);
      report.freedBytes += sizeOf(p);
      report.removedTemp++;
      if (!options.dryRun) removeTreeForce(p);
    }
    if (!options.dryRun) {
      fsyncDir(store.paths.blobs);
      fsyncDir(store.paths.layers);
    }
    return report;
  }, options);
}
