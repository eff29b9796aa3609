// The build's typed view of a strata.yaml: what the spec parser in lsp/ produced, narrowed to what
// the engine needs, with each step's position kept so a failure can say `strata.yaml:14:5`.
// The parser and validator live in lsp/spec.ts (one parser for the editor and the CLI); spec.ts
// here only converts its result.
import type { Spec, Step } from '../../lsp/model';

/** A place in a file, 1-based, as printed in messages (`file:line:col`). */
export interface SourcePos {
  file: string;
  line: number;
  col: number;
}

export type NetworkMode = 'host' | 'none';

export type StepDef = (
  | { kind: 'run'; command: string; network: NetworkMode }
  | { kind: 'copy'; src: string; dest: string }
  | { kind: 'apt'; packages: string[] }
  | { kind: 'pip'; packages: string[]; indexUrl?: string }
) & {
  pos: SourcePos;
  /** The parser's step, for the definition digest shared with the editor. */
  source: Step;
};

export interface MountDef {
  src: string;
  dest: string;
  readonly: boolean;
  pos: SourcePos;
}

export interface Resources {
  cpus?: number;
  /** Bytes. */
  memory?: number;
  pids?: number;
}

export interface WorkloadDef {
  name: string;
  command: string[];
  env: Record<string, string>;
  workdir?: string;
  resources: Resources;
  network: NetworkMode;
  outputs: string[];
  pos: SourcePos;
}

/** Image config fields a spec may set (DESIGN §3). */
export interface ConfigDef {
  env: Record<string, string>;
  workdir?: string;
  user?: string;
  entrypoint?: string[];
  cmd?: string[];
  labels: Record<string, string>;
}

export interface EnvironmentSpec {
  /** The parser's model, for the canonical digests shared with the editor. */
  source: Spec;
  /** Absolute path of the spec file. */
  file: string;
  /** The spec's folder: copy sources and mounts are relative to it. */
  dir: string;
  /** The image is stored as strata/<name>. */
  name: string;
  /** An image reference, or 'scratch'. */
  from: string;
  fromPos: SourcePos;
  /** os/arch, e.g. linux/amd64. */
  platform: string;
  config: ConfigDef;
  steps: StepDef[];
  mounts: MountDef[];
  workloads: WorkloadDef[];
}

/** One line that names a step in progress output and reports: `2/5 apt: python3-numpy`. */
export function stepLabel(step: StepDef): string {
  switch (step.kind) {
    case 'run':
      return `run: ${step.command.split('\n')[0]}${step.network === 'none' ? ' (network: none)' : ''}`;
    case 'copy':
      return `copy: ${step.src} -> ${step.dest}`;
    case 'apt':
      return `apt: ${step.packages.join(' ')}`;
    case 'pip':
      return `pip: ${step.packages.join(' ')}`;
  }
}

export function formatPos(pos: SourcePos): string {
  return `${pos.file}:${pos.line}:${pos.col}`;
}
