// Chooses what `strata run` runs: the named workload, the spec's only one, or a command given
// after `--` (which keeps the workload's settings when a workload is named too).
import { StrataError } from '../errors';
import type { EnvironmentSpec, WorkloadDef } from '../build/model';

export function chooseWorkload(
  spec: EnvironmentSpec,
  name: string | undefined,
  command: string[] | undefined,
): WorkloadDef | undefined {
  if (name) {
    const w = spec.workloads.find((x) => x.name === name);
    if (w) return w;
    const names = spec.workloads.map((x) => x.name);
    throw new StrataError(
      'USAGE',
      `${spec.file} has no workload '${name}'`,
      names.length
        ? `its workloads: ${names.join(', ')}`
        : 'it defines no workloads; give a command after --',
    );
  }
  if (command?.length) return undefined;
  if (spec.workloads.length === 1) return spec.workloads[0];
  if (spec.workloads.length === 0)
    throw new StrataError(
      'USAGE',
      `${spec.file} defines no workloads`,
      'add one under `workloads:`, or give a command: strata run -- CMD...',
    );
  throw new StrataError(
    'USAGE',
    `${spec.file} has ${spec.workloads.length} workloads; which one?`,
    `strata run WORKLOAD, with WORKLOAD one of: ${spec.workloads.map((w) => w.name).join(', ')}`,
  );
}
