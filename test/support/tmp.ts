// Per-test temporary folders: a STRATA_HOME and a workspace, removed afterwards.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';

export function makeTempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `strata-${prefix}-`));
}

/** Removes a tree that a container may have left with odd modes (no write bit on dirs). */
export function removeTree(dir: string): void {
  try {
    fs.rmSync(dir, { recursive: true, force: true });
  } catch {
    // Read-only dirs made inside a container: give ourselves write access, then retry.
    execFileSync('chmod', ['-R', 'u+rwX', dir], { stdio: 'ignore' });
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export interface TempEnv {
  /** $STRATA_HOME for this test. */
  home: string;
  /** An empty workspace folder for specs and files. */
  workspace: string;
}

/**
 * Mocha hooks giving each test its own STRATA_HOME (also set in process.env) and workspace.
 * Usage: `const env = useTempStrataHome();` at describe level, then `env.home` inside tests.
 */
export function useTempStrataHome(): TempEnv {
  const env = { home: '', workspace: '' };
  let previous: string | undefined;
  beforeEach(() => {
    const root = makeTempDir('test');
    env.home = path.join(root, 'home');
    env.workspace = path.join(root, 'workspace');
    fs.mkdirSync(env.home);
    fs.mkdirSync(env.workspace);
    previous = process.env.STRATA_HOME;
    process.env.STRATA_HOME = env.home;
  });
  afterEach(() => {
    if (previous === undefined) delete process.env.STRATA_HOME;
    else process.env.STRATA_HOME = previous;
    if (env.home && !process.env.STRATA_TEST_KEEP) removeTree(path.dirname(env.home));
  });
  return env;
}
