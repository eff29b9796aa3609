// Messages between the extension and the server beyond standard LSP, in one module imported by
// both sides (as vscode-eslint's customMessages.ts). Each message is a { method, type } pair.
import { NotificationType, RequestType } from 'vscode-languageserver-protocol';

/** What a client shows for one environment (spec file). */
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
