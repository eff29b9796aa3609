// Leaves a plan after a `strata run` whose build was cached, so that the native front end
// (native/front/) can repeat the same run without Node (engine/plan/README.md). The container's
// strata-box argv is derived here from the same request runContainer gets, with placeholders for
// the run's own scratch dirs.
import type { BuildResult } from '../build/build';
import { sandboxOptionsFor, type Bind, type ContainerRequest } from '../build/container';
import type { EnvironmentSpec } from '../build/model';
import {
  ARG_UPPER,
  ARG_WORK,
  confirmPlan,
  specInputs,
  startPlan,
  storedObjects,
  writeRunPlan,
  type Invocation,
  type PlanStart,
} from '../plan';
import { strataBoxPath } from '../sandbox/binary';
import { sandboxArgs } from '../sandbox/run';
import type { RunRecord } from './records';

export interface RunPlanStart {
  start: PlanStart;
  /** Second look at the inputs, before the container runs; undefined when they moved. */
  confirm(built: BuildResult, lowers: string[], binds: Bind[]): Confirmed | undefined;
}

interface Confirmed {
  snap: NonNullable<ReturnType<typeof confirmPlan>>;
  present: string[];
}

export function runPlanStart(inv: Invocation, spec: EnvironmentSpec, home: string): RunPlanStart | undefined {
  const start = startPlan(inv, specInputs(spec, inv, home));
  if (!start) return undefined;
  return {
    start,
    confirm(built, lowers, binds) {
      if (built.lockStatus === 'not-written' || built.report) return undefined;
      const snap = confirmPlan(start);
      if (!snap) return undefined;
      const present = [
        ...storedObjects(
          home,
          { manifest: built.manifestDigest, config: built.configDigest, layers: built.layers },
          built.cacheKeys,
        ),
        ...lowers,
        ...binds.map((b) => b.src),
      ];
      return { snap, present };
    },
  };
}

export interface RunPlanFactsIn {
  home: string;
  lease: string;
  container: Omit<ContainerRequest, 'signal' | 'onWarning' | 'onLine'>;
  record: RunRecord;
  specDir: string;
  outputs: string[];
}

/** The `strata-box run` argv that runContainer (build/container.ts) makes for this request. */
function boxArgv(c: RunPlanFactsIn['container']): string[] {
  return [strataBoxPath(), ...sandboxArgs(sandboxOptionsFor(c, { upper: ARG_UPPER, work: ARG_WORK }), 3)];
}

/** The record's members from `spec` to `resources` (those a replay repeats unchanged). */
function recordHead(record: RunRecord): string {
  const keys = Object.keys(record);
  const from = keys.indexOf('id') + 1;
  const to = keys.indexOf('host');
  const head: Record<string, unknown> = {};
  for (const k of keys.slice(from, to)) head[k] = record[k as keyof RunRecord];
  const text = JSON.stringify(head, null, 2);
  return text.slice(2, -2); // without the braces and their newlines
}

export function saveRunPlan(plan: RunPlanStart, confirmed: Confirmed, facts: RunPlanFactsIn): void {
  let argv: string[];
  try {
    argv = boxArgv(facts.container);
  } catch {
    return; // no helper or an argv strata-box would refuse: no plan
  }
  writeRunPlan(plan.start, confirmed.snap, confirmed.present, {
    home: facts.home,
    lease: facts.lease,
    argv,
    recordHead: recordHead(facts.record),
    specDir: facts.specDir,
    outputs: facts.outputs,
  });
}
