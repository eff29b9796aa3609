// The typed model of a validated strata.yaml (docs/DESIGN.md §3). Every step, mount and workload
// carries its source range so that the engine can say `strata.yaml:14:5` when a step fails.
import type { SourceRange } from './text';

export type NetworkMode = 'host' | 'none';

interface Located {
  /** The whole list item or mapping entry, in the spec text. */
  range: SourceRange;
}

export interface AptStep extends Located {
  kind: 'apt';
  /** As written: `name`, `name=version`, `name:arch`, `name/release`. */
  packages: string[];
}

export interface PipStep extends Located {
  kind: 'pip';
  /** PEP 508 requirement specifiers as written, e.g. `obspy==1.4.1`. */
  packages: string[];
  indexUrl?: string;
}

export interface CopyStep extends Located {
  kind: 'copy';
  /** Relative to the spec's folder, as written (e.g. `./src`). */
  src: string;
  /** Absolute path in the image. */
  dest: string;
}

export interface RunStep extends Located {
  kind: 'run';
  /** Shell command run by /bin/sh -c as root in the image being built. */
  command: string;
  /** Build steps default to the host's network. */
  network: NetworkMode;
}

export type Step = AptStep | PipStep | CopyStep | RunStep;
export type StepKind = Step['kind'];

export interface Mount extends Located {
  /** Host path relative to the spec's folder, as written. */
  src: string;
  /** Absolute path in the container. */
  dest: string;
  readonly: boolean;
}

export interface Resources {
  cpus?: number;
  /** Bytes. */
  memory?: number;
  pids?: number;
}

export interface Workload extends Located {
  name: string;
  /** argv. A command written as one text becomes [/bin/sh, -c, text]. */
  command: string[];
  env: Record<string, string>;
  resources: Resources;
  /** Workloads default to no network. */
  network: NetworkMode;
  /** Paths, relative to the spec's folder, whose content is hashed into the run record. */
  outputs: string[];
  workdir?: string;
}

export interface Spec {
  strata: 1;
  name: string;
  /** An image reference as written, or `scratch`. */
  from: string;
  platform?: string;
  env: Record<string, string>;
  workdir?: string;
  user?: string;
  entrypoint?: string[];
  cmd?: string[];
  labels?: Record<string, string>;
  steps: Step[];
  mounts: Mount[];
  /** In the order they are written. */
  workloads: Record<string, Workload>;
  /** Where the top-level fields are, for diagnostics about them (e.g. a stale `from`). */
  ranges: Partial<Record<TopLevelKey, SourceRange>>;
}

export const TOP_LEVEL_KEYS = [
  'strata',
  'name',
  'from',
  'platform',
  'env',
  'workdir',
  'user',
  'entrypoint',
  'cmd',
  'labels',
  'steps',
  'mounts',
  'workloads',
] as const;
export type TopLevelKey = (typeof TOP_LEVEL_KEYS)[number];

export const STEP_KINDS = ['apt', 'pip', 'copy', 'run'] as const;
/** Keys a step may have beside its kind. */
export const STEP_OPTIONS: Record<StepKind, readonly string[]> = {
  apt: [],
  pip: ['index-url'],
  copy: [],
  run: ['network'],
};
export const COPY_KEYS = ['src', 'dest'] as const;
export const MOUNT_KEYS = ['src', 'dest', 'readonly'] as const;
export const WORKLOAD_KEYS = ['command', 'env', 'resources', 'network', 'outputs', 'workdir'] as const;
export const RESOURCE_KEYS = ['cpus', 'memory', 'pids'] as const;
export const NETWORK_MODES: readonly NetworkMode[] = ['host', 'none'];
