// What a plan's validity rests on, as git's index and ninja's log do it: the stat of every input
// (the spec, the lock, .strataignore, every file and folder a copy step reads, the store's
// index.json, the Strata install itself) and the existence of every stored object a cached build
// or run uses (blobs, cache entries, layer trees, mount sources). Taken once before the build
// reads anything and once after; a plan is only written when both agree and no time in it is
// within RACY_MARGIN_NS of when the first was taken (a change in the same clock tick as the
// reading could keep every stat field: "racy git").
import * as fs from 'node:fs';
import * as path from 'node:path';
import { IgnoreRules } from '../layer/ignore';
import type { PlanWriter } from './format';

/** Kernel file times come from a clock that lags real time by up to a tick (4-10 ms). */
export const RACY_MARGIN_NS = 50_000_000n;

export interface PlanInputs {
  /** Files whose stat (following symlinks) must stay the same; missing ones must stay missing. */
  files: string[];
  /** Copy sources: each walked with lstat, .strataignore'd entries skipped, folders included. */
  trees: { root: string; src: string }[];
  /** Paths that must exist (stored objects, mount sources). */
  present: string[];
}

export interface Snapshot {
  /** Records: [tag, value]; tags stat, lstat, absent, exists. */
  records: [string, string][];
  newestNs: bigint;
}

function statValue(p: string, st: fs.BigIntStats): string {
  return `${st.dev} ${st.ino} ${st.size} ${st.mtimeNs} ${st.ctimeNs} ${st.mode} ${p}`;
}

/** The snapshot of `inputs`, or undefined when something cannot be read (no plan then). */
export function takeSnapshot(inputs: PlanInputs): Snapshot | undefined {
  const records: [string, string][] = [];
  let newestNs = 0n;
  const note = (tag: string, p: string, st: fs.BigIntStats) => {
    records.push([tag, statValue(p, st)]);
    if (st.mtimeNs > newestNs) newestNs = st.mtimeNs;
    if (st.ctimeNs > newestNs) newestNs = st.ctimeNs;
  };
  try {
    for (const f of inputs.files) {
      const st = fs.statSync(f, { bigint: true, throwIfNoEntry: false });
      if (st) note('stat', f, st);
      else records.push(['absent', f]);
    }
    for (const t of inputs.trees) {
      const rules = IgnoreRules.load(t.root);
      const top = path.resolve(t.root, t.src);
      note('lstat', top, fs.lstatSync(top, { bigint: true }));
      const stack = fs.lstatSync(top).isDirectory() ? [top] : [];
      while (stack.length) {
        const dir = stack.pop()!;
        for (const name of fs.readdirSync(dir).sort()) {
          const abs = path.join(dir, name);
          const st = fs.lstatSync(abs, { bigint: true });
          const rel = path.relative(t.root, abs).split(path.sep).join('/');
          if (rules.ignores(rel, st.isDirectory())) continue;
          note('lstat', abs, st);
          if (st.isDirectory()) stack.push(abs);
        }
      }
    }
    for (const p of inputs.present) {
      if (!fs.existsSync(p)) return undefined;
      records.push(['exists', p]);
    }
  } catch {
    return undefined;
  }
  return { records, newestNs };
}

export function sameSnapshot(a: Snapshot, b: Snapshot): boolean {
  return (
    a.records.length === b.records.length &&
    a.records.every((r, i) => r[0] === b.records[i]![0] && r[1] === b.records[i]![1])
  );
}

/** Now, in ns, for the racy check (taken before the first snapshot). */
export function nowNs(): bigint {
  return BigInt(Date.now()) * 1_000_000n;
}

export function addSnapshot(w: PlanWriter, s: Snapshot): void {
  for (const [tag, value] of s.records) w.add(tag, value);
}
