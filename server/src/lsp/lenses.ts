// Code lenses: Build (and Verify once there is a lock) above the spec, Run above each workload.
import { Commands } from './commands';
import type { Spec } from './model';
import type { SourceRange } from './text';

export interface SpecLens {
  range: SourceRange;
  title: string;
  command: string;
  arguments: unknown[];
}

export function codeLenses(spec: Spec | undefined, specUri: string, hasLock: boolean): SpecLens[] {
  if (!spec) return [];
  const top = spec.ranges.strata ?? spec.ranges.name ?? spec.ranges.from;
  const out: SpecLens[] = [];
  if (top) {
    out.push({ range: top, title: 'Build', command: Commands.build, arguments: [specUri] });
    if (hasLock) out.push({ range: top, title: 'Verify', command: Commands.verify, arguments: [specUri] });
    else out.push({ range: top, title: 'Build and lock', command: Commands.lock, arguments: [specUri] });
  }
  for (const w of Object.values(spec.workloads)) {
    out.push({
      range: w.range,
      title: `Run ${w.name}`,
      command: Commands.runWorkload,
      arguments: [specUri, w.name],
    });
  }
  return out;
}
