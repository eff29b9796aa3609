// The build engine's API, for the CLI (strata build/verify/run) and the language server
// (workspace/executeCommand strata.build, strata.verify, strata.lock):
//
//   const result = await buildEnvironment('/work/strata.yaml', { signal, onEvent });
//   result.manifestDigest; result.lockStatus;           // 'written' | 'unchanged' | 'not-written'
//   const checked = await verifyEnvironment(spec, { onEvent });
//   checked.report?.status;                             // 'reproduced' | 'drift'
//
// Errors are StrataError: SPEC (with file:line:col lines), LOCK (missing or stale, naming the
// changed fields), BUILD (a step failed: position, command, last lines of output), REF/REGISTRY
// (base image), CANCELLED (signal aborted; nothing half-written is left).
export { buildEnvironment, type BuildOptions, type BuildResult, type BuiltLayer } from './build';
export { verifyEnvironment, type VerifyOptions } from './verify';
export type {
  BuildEvent,
  StepStatus,
  VerifyReport,
  StepComparison,
  FileDifference,
  LockWriteStatus,
} from './events';
export { loadSpec, resolveSpecPath, hostPlatform } from './spec';
export { lockStaleness, type Staleness } from '../lock/stale';
export { lockPathFor, readLock } from '../lock/format';
export type { Lock } from '../lock/types';
