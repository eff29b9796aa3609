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
 * Removes a tree a container wrote, best effort (it never throws: a cleanup failure must not hide
 * the error that ended the step). Modes may deny us writing (a dir made 0555 inside, overlay's
 * 000 `work/work`): make it writable and retry. With a subordinate id range, files owned by
 * container users belong to those host ids: remove them from inside a user namespace that maps
 * the range (util-linux unshare --map-auto, through newuidmap). Returns whether it is gone.
 */
export function removeTree(dir: string): boolean {
  const attempts: (() => void)[] = [
    () => fs.rmSync(dir, { recursive: true, force: true }),
    () => {
      execFileSync('chmod', ['-R', 'u+rwX', dir], { stdio: 'ignore' });
      fs.rmSync(dir, { recursive: true, force: true });
    },
    () => execFileSync('unshare', ['--map-root-user', '--map-auto', 'rm', '-rf', dir], { stdio: 'ignore' }),
  ];
  for (const attempt of attempts) {
    try {
      attempt();
    } catch {
      /* try the next way */
    }
    if (!fs.existsSync(dir)) return true;
  }
  return false;
}
