// Runs `bin/strata` as a user does (the sh launcher, then the native front end, then Node when the
// front end has no valid plan), with STRATA_TRACE=1 so that stderr says which path ran.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { repoRoot, type RunResult } from '../support';
import { cliEnv } from './helpers';

export const launcher = path.join(repoRoot, 'bin', 'strata');
export const front = path.join(repoRoot, 'native', 'build', 'strata-front');

/** The environment viaLauncher gives: part of a plan's key, so spawn with this one to replay. */
export async function launcherEnv(home: string): Promise<NodeJS.ProcessEnv> {
  return { ...process.env, NO_COLOR: '1', STRATA_TRACE: '1', ...(await cliEnv(home)) };
}

export async function viaLauncher(
  args: string[],
  home: string,
  cwd: string,
  extraEnv: Record<string, string> = {},
  program = launcher,
): Promise<RunResult> {
  const env = { ...(await launcherEnv(home)), ...extraEnv };
  // stdin is /dev/null rather than a pipe: the front end can exit before a pipe's end is written.
  const child = spawn(program, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/** Did the native front end replay a plan? */
export function replayed(r: RunResult): boolean {
  return /^strata: cached plan (build|run) /m.test(r.stderr);
}

export function assertReplayed(r: RunResult, what: string): void {
  assert.ok(replayed(r), `${what}: expected the cached plan, got:\n${r.stderr}`);
}

export function assertNode(r: RunResult, what: string): void {
  assert.match(r.stderr, /^strata: no cached plan \(/m, `${what}: expected Node to run, got:\n${r.stderr}`);
  assert.ok(!replayed(r), `${what}: the front end replayed a plan it should have refused`);
}

/**
 * Lets the file times of what a test just wrote fall behind the clock: a plan is only written
 * when no input changed within RACY_MARGIN_NS (50 ms) of the build reading it ("racy git").
 */
export function settle(): Promise<void> {
  return new Promise((r) => setTimeout(r, 150));
}

/** `done in 12 ms` and `"elapsedMs":12` are the only parts of a no-change build's output that vary. */
export function withoutElapsed(text: string): string {
  return text
    .replace(/done in [0-9.]+ m?s/g, 'done in T')
    .replace(/"elapsedMs":[0-9]+/g, '"elapsedMs":T')
    .replace(/ in [0-9.]+ m?s(\r?)$/gm, ' in T$1')
    .replace(/^strata: (no )?cached plan[^\n]*\n/gm, '');
}

export function readJson<T>(file: string): T {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
}
