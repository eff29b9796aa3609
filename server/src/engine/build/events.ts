// What a build tells its front end while it runs. The CLI renders these as bars, plain lines or
// NDJSON (--json); the language server turns them into work-done progress and strata/status.
// Step indexes are 1-based, as shown to users ("step 2/5").

export type StepStatus = 'running' | 'cached' | 'done' | 'failed';

export type BuildEvent =
  | { type: 'start'; spec: string; name: string; steps: number; locked: boolean; noCache: boolean }
  /** Bytes of the base image fetched so far (total when known). */
  | { type: 'pull'; ref: string; bytes: number; total?: number }
  | { type: 'base'; ref: string; digest: string; layers: number }
  | {
      type: 'step';
      index: number;
      total: number;
      label: string;
      status: StepStatus;
      /** `strata.yaml:14:5` */
      at: string;
      elapsedMs?: number;
      diffId?: string;
      size?: number;
    }
  /** One line of a running step's output (also kept in the build log). */
  | { type: 'output'; index: number; line: string }
  | { type: 'image'; name: string; manifestDigest: string; configDigest: string }
  | { type: 'lock'; path: string; status: LockWriteStatus }
  | { type: 'verify'; report: VerifyReport }
  | { type: 'done'; elapsedMs: number; ran: number; cached: number };

export type LockWriteStatus = 'written' | 'unchanged' | 'not-written';

/** One file that differs between the locked layer and the rebuilt one. */
export interface FileDifference {
  path: string;
  change: 'added' | 'removed' | 'changed';
  /** Size in the locked layer (removed, changed). */
  lockedSize?: number;
  /** Size in the rebuilt layer (added, changed). */
  builtSize?: number;
  /** What changed for a 'changed' entry: content, mode, type, owner, link target. */
  what?: string[];
}

export interface StepComparison {
  index: number;
  label: string;
  at: string;
  lockedDiffId: string;
  builtDiffId: string;
  reproduced: boolean;
  files: FileDifference[];
  /** Why files could not be listed (the locked layer is not available here), if so. */
  note?: string;
}

export interface VerifyReport {
  status: 'reproduced' | 'drift';
  manifest: { locked: string; built: string };
  steps: StepComparison[];
}
