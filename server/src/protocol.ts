// Messages between the extension and the server beyond standard LSP, in one module imported by
// both sides (as vscode-eslint's customMessages.ts). Each message is a { method, type } pair.
import { NotificationType, RequestType } from 'vscode-languageserver-protocol';

/**
 * What a client shows for one environment (spec file). `failed` stays until the spec changes or
 * another build starts; then the state is the lock's again.
 */
export type EnvironmentState =
  'not-built' | 'building' | 'built' | 'locked' | 'stale' | 'reproduced' | 'drift' | 'failed';

export interface StatusParams {
  /** URI of the strata.yaml this status is about. */
  uri: string;
  state: EnvironmentState;
  /** Human text, e.g. "step 2/5: apt". */
  detail?: string;
  /** Manifest digest of the built image, when there is one. */
  imageDigest?: string;
}

export const StatusNotification = {
  method: 'strata/status',
  type: new NotificationType<StatusParams>('strata/status'),
} as const;

/** Commands served through workspace/executeCommand. Arguments: [specUri, ...]. */
export const Commands = {
  build: 'strata.build',
  rebuild: 'strata.rebuild',
  verify: 'strata.verify',
  lock: 'strata.lock',
} as const;

export interface EnvironmentInfoParams {
  uri: string;
}
export interface EnvironmentInfo {
  uri: string;
  state: EnvironmentState;
  imageDigest?: string;
  layers: { digest: string; diffId: string; size: number; step?: string }[];
  workloads: string[];
}
export const EnvironmentInfoRequest = {
  method: 'strata/environmentInfo',
  type: new RequestType<EnvironmentInfoParams, EnvironmentInfo, void>('strata/environmentInfo'),
} as const;

// ---- Client-side expectations (added with the extension; all additive) ----------------------

/**
 * The argument of every `Commands.*` executeCommand is `[specUri]` (a `file:` URI string). The
 * client passes a `workDoneToken` in the ExecuteCommandParams and renders `$/progress` reports on
 * it (begin/report/end; `message` like "step 2/5: apt", `percentage` when known); it cancels with
 * `$/cancelRequest`, after which the server stops the build, kills every process it started and
 * answers with LSP error RequestCancelled (-32800). A failed build answers with a ResponseError
 * whose message is the user-facing text and whose `data` is a `CommandErrorData`.
 */
export interface CommandErrorData {
  /** StrataError code (engine/errors.ts), e.g. 'BUILD', 'SPEC', 'CANCELLED'. */
  code: string;
  hint?: string;
}

/** The result of strata.build / strata.rebuild / strata.verify / strata.lock. */
export interface BuildResult {
  uri: string;
  state: EnvironmentState;
  imageDigest?: string;
  /** URI of the strata.lock written or checked, when there is one. */
  lockUri?: string;
  /** For verify: the steps whose diff_id differs from the lock (empty when reproduced). */
  drift?: { step: string; files: string[] }[];
}

/** One line of build output, for the client's "Strata" log channel. Server → client. */
export interface LogParams {
  uri: string;
  level: 'trace' | 'debug' | 'info' | 'warn' | 'error';
  text: string;
}
export const LogNotification = {
  method: 'strata/log',
  type: new NotificationType<LogParams>('strata/log'),
} as const;

/** A recent run of a workload, as the Environments view lists it. */
export interface RunSummary {
  id: string;
  workload: string;
  exitCode: number;
  /** ISO time the run started. */
  startedAt: string;
  /** Absolute path of the run record (JSON) the view opens. */
  recordPath: string;
}

/**
 * Optional additions to EnvironmentInfo (declared separately so older servers stay valid):
 * `lockState` says whether strata.lock matches the spec; `runs` the spec's recent workload runs,
 * newest first (at most 10), read from the run records under $STRATA_HOME/runs on each request.
 */
export interface EnvironmentInfoExtras {
  name?: string;
  lockState?: 'none' | 'current' | 'stale';
  runs?: RunSummary[];
}

/** Passed as LSP initializationOptions by the VS Code client. */
export interface InitializationOptions {
  /** False in an untrusted workspace: serve validation only, refuse build/run commands. */
  trusted: boolean;
}
