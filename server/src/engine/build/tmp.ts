// Temporary folders of a build: under the store's tmp/ (same file system as the layer trees, which
// overlay needs for upper and work dirs), removed when the step ends, also when it fails.
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Store } from '../store/store';

export function makeStepDirs(store: Store): { root: string; upper: string; work: string } {
  const root = path.join(store.paths.tmp, `step-${process.pid}-${randomBytes(4).toString('hex')}`);
  const upper = path.join(root, 'upper');
  const work = path.join(root, 'work');
  fs.mkdirSync(upper, { recursive: true });
  fs.mkdirSync(work);
  return { root, upper, work };
}

/**
 * Removes a tree a container wrote: modes may deny us writing (a dir made 0555 inside), and
 * overlay's work dir holds a 000 `work/work` dir; make it writable and retry.
 */
export function removeTree(dir: string): void {
  try {
    fs.rmSync(dir, { recursive: true, force: true });
  } catch {
    try {
      execFileSync('chmod', ['-R', 'u+rwX', dir], { stdio: 'ignore' });
    } catch {
      /* some entries may still be removable */
    }
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
