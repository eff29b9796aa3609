// Build cache keys (issue 5 §1): a step is reused when its parent chain, its canonical definition,
// the content it copies, the platform, the epoch its files are clamped to, the environment it runs
// with and the key format are all the same. The chain makes editing step 3 re-run steps 3.. only.
import { canonicalJson, canonicalStep, sha256Digest } from './canonical';
import type { StepDef } from './model';

/**
 * Bump when what a key covers, or how a step turns into a layer, changes.
 * 2: gzip level chosen per block (layer/gzip.ts), so every compressed digest changed.
 */
export const CACHE_FORMAT_VERSION = 2;

export interface ChainStart {
  /** Manifest digest of the base image, or 'scratch'. */
  base: string;
  platform: string;
  epoch: number;
}

/** The key the first step hangs from. */
export function chainRoot(start: ChainStart): string {
  return sha256Digest(canonicalJson({ v: CACHE_FORMAT_VERSION, ...start }));
}

export interface StepKeyInput {
  parent: string;
  step: StepDef;
  /** Digest of the files a copy step copies. */
  content?: string;
  /** Environment the step runs with (spec env); copy steps run nothing, so pass none. */
  env?: Record<string, string>;
  workdir?: string;
}

export function stepKey(input: StepKeyInput): string {
  return sha256Digest(
    canonicalJson({
      v: CACHE_FORMAT_VERSION,
      parent: input.parent,
      step: canonicalStep(input.step),
      content: input.content,
      env: input.step.kind === 'copy' ? undefined : input.env,
      workdir: input.step.kind === 'run' ? input.workdir : undefined,
    }),
  );
}
