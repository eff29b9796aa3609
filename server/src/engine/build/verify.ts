// `strata verify`: a locked rebuild in a throwaway store, with nothing taken from the user's build
// cache, compared with the lock. The base image is copied from the user's store when it is there
// (it is pinned by digest and every blob is checked on the way in, so this equals a fresh pull);
// the user's store also serves the locked layers for listing the files of a drifted step.
import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import { openStore } from '../store/store';
import { buildEnvironment, type BuildOptions, type BuildResult } from './build';
import { removeTree } from './tmp';

export interface VerifyOptions extends Omit<
  BuildOptions,
  'locked' | 'noCache' | 'noLockWrite' | 'referenceStore'
> {
  /** Keep the throwaway store (for debugging), and say where it is. */
  keep?: boolean;
}

export async function verifyEnvironment(specPath: string, options: VerifyOptions = {}): Promise<BuildResult> {
  const userStore = openStore(options.home ?? (options.env ?? process.env).STRATA_HOME);
  // Under the user's store: the same file system, which overlay needs for its lower and upper dirs.
  const scratch = path.join(userStore.paths.tmp, `verify-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    return await buildEnvironment(specPath, {
      ...options,
      home: scratch,
      locked: true,
      noCache: true,
      noLockWrite: true,
      referenceStore: userStore,
    });
  } finally {
    if (!options.keep) removeTree(scratch);
  }
}
