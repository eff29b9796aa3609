// Writes the plans that the native front end (native/front/) replays without starting Node: one
// for a no-change `strata build` (the exact text it printed, with the elapsed time left as a
// placeholder) and one for a `strata run` whose build was cached (the strata-box argv, the lease
// root and the record's fixed part). A plan that cannot be written is simply absent: the next
// invocation runs through Node, as it always may.
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseDigest } from '../digest';
import { lockPathFor } from '../lock/format';
import type { EnvironmentSpec } from '../build/model';
import { strataBoxPath } from '../sandbox/binary';
import { StorePaths } from '../store/paths';
import { PLAN_FORMAT, planFile, type Invocation } from './key';
import { PlanWriter } from './format';
import {
  addSnapshot,
  nowNs,
  RACY_MARGIN_NS,
  sameSnapshot,
  takeSnapshot,
  type PlanInputs,
  type Snapshot,
} from './snapshot';

/** Placeholders the front end replaces with its own elapsed time. */
export const ELAPSED_TEXT = '\x01ms\x01';
export const ELAPSED_RAW = '\x01rawms\x01';

/** The inputs of a spec's build: what must not change for a cached build to stay cached. */
export function specInputs(spec: EnvironmentSpec, inv: Invocation, home: string): PlanInputs {
  const files = [spec.file, lockPathFor(spec.file), path.join(spec.dir, '.strataignore')];
  let box: string | undefined;
  try {
    box = strataBoxPath();
  } catch {
    box = undefined;
  }
  // The install itself: a rebuilt bundle, helper or front end makes every plan fall back.
  files.push(
    path.join(inv.root, 'out', 'cli.js'),
    path.join(inv.root, 'native', 'build', 'strata-front'),
    ...(box ? [box] : []),
  );
  files.push(new StorePaths(home).indexJson);
  const trees = spec.steps.flatMap((s) => (s.kind === 'copy' ? [{ root: spec.dir, src: s.src }] : []));
  return { files, trees, present: [] };
}

/** The stored objects a cached build of this image reads. */
export function storedObjects(
  home: string,
  image: { manifest: string; config: string; layers: { digest: string; diffId: string }[] },
  cacheKeys: string[],
): string[] {
  const p = new StorePaths(home);
  return [
    p.blob(parseDigest(image.manifest)),
    p.blob(parseDigest(image.config)),
    ...image.layers.flatMap((l) => [p.blob(parseDigest(l.digest)), p.layerTree(parseDigest(l.diffId))]),
    ...cacheKeys.map((k) => path.join(p.cache, `${parseDigest(k).hex}.json`)),
  ];
}

/** A snapshot taken before the build, kept until the plan is written. */
export interface PlanStart {
  inv: Invocation;
  inputs: PlanInputs;
  before: Snapshot;
  startedNs: bigint;
}

export function startPlan(inv: Invocation, inputs: PlanInputs): PlanStart | undefined {
  const startedNs = nowNs();
  const before = takeSnapshot(inputs);
  return before ? { inv, inputs, before, startedNs } : undefined;
}

/** The second snapshot, when it agrees with the first and nothing in it is racy. */
export function confirmPlan(start: PlanStart): Snapshot | undefined {
  if (start.before.newestNs >= start.startedNs - RACY_MARGIN_NS) return undefined;
  const after = takeSnapshot(start.inputs);
  return after && sameSnapshot(start.before, after) ? after : undefined;
}

function header(kind: 'build' | 'run', start: PlanStart, snap: Snapshot, present: string[]): PlanWriter {
  const w = new PlanWriter().add('format', PLAN_FORMAT).add('kind', kind);
  w.add('created', String(start.startedNs));
  addSnapshot(w, snap);
  for (const p of present) w.add('exists', p);
  return w;
}

/** Plans kept per store: each command line has its own, so `run -- CMD` with varying CMDs adds up. */
const MAX_PLANS = 256;

function writePlanFile(inv: Invocation, data: Buffer): void {
  const file = planFile(inv);
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const tmp = `${file}.tmp-${process.pid}-${randomBytes(3).toString('hex')}`;
    fs.writeFileSync(tmp, data, { mode: 0o600 });
    fs.renameSync(tmp, file);
    trimPlans(path.dirname(file));
  } catch {
    /* no plan: the next invocation runs through Node */
  }
}

/** Keeps the MAX_PLANS most recently written plans (a removed plan only costs one Node run). */
function trimPlans(dir: string): void {
  const names = fs.readdirSync(dir);
  if (names.length <= MAX_PLANS) return;
  const aged = names
    .map((n) => ({ n, t: fs.statSync(path.join(dir, n), { throwIfNoEntry: false })?.mtimeMs ?? 0 }))
    .sort((a, b) => b.t - a.t);
  for (const { n } of aged.slice(MAX_PLANS)) fs.rmSync(path.join(dir, n), { force: true });
}

/** Removes the plan of this invocation (when its outcome could not be replayed). */
export function dropPlan(inv: Invocation): void {
  try {
    fs.rmSync(planFile(inv), { force: true });
  } catch {
    /* nothing to drop */
  }
}

export function writeBuildPlan(
  start: PlanStart,
  snap: Snapshot,
  present: string[],
  output: { stdout: string; stderr: string },
): void {
  const w = header('build', start, snap, present);
  w.add('stdout', output.stdout).add('stderr', output.stderr);
  writePlanFile(start.inv, w.bytes());
}

export interface RunPlanFacts {
  home: string;
  /** The manifest digest the run leases against gc. */
  lease: string;
  /** `strata-box` and its argv, with ARG_UPPER/ARG_WORK where the run's scratch dirs go. */
  argv: string[];
  /** The run record's fixed members (spec .. resources), as JSON.stringify(…, null, 2) lines. */
  recordHead: string;
  specDir: string;
  outputs: string[];
}

export const ARG_UPPER = '\x01upper\x01';
export const ARG_WORK = '\x01work\x01';

export function writeRunPlan(start: PlanStart, snap: Snapshot, present: string[], facts: RunPlanFacts): void {
  const w = header('run', start, snap, present);
  w.add('home', facts.home).add('lease', facts.lease);
  for (const a of facts.argv) w.add('arg', a);
  w.add('record', facts.recordHead).add('specdir', facts.specDir);
  for (const o of facts.outputs) w.add('output', o);
  writePlanFile(start.inv, w.bytes());
}
