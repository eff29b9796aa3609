// Shared by the build suite: run the CLI against a store and the test registry, read its --json
// events, copy examples into a writable workspace, look at what a build left in the store.
import * as assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { examplesDir, mirrorEnv, runCli, sharedRegistry, type RunResult } from '../support';

export interface Ctx {
  home: string;
  env: Record<string, string>;
}

/** The environment for a CLI run: this store, the test registry as docker.io's mirror. */
export async function cliEnv(home: string): Promise<Record<string, string>> {
  const reg = await sharedRegistry();
  return { STRATA_HOME: home, ...mirrorEnv(reg.host) };
}

export async function strata(
  args: string[],
  home: string,
  cwd: string,
  timeoutMs = 600000,
): Promise<RunResult> {
  return runCli(args, { env: await cliEnv(home), cwd, timeoutMs });
}

export interface JsonEvent {
  type: string;
  [key: string]: unknown;
}

export function events(stdout: string): JsonEvent[] {
  return stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as JsonEvent);
}

/** The final status of each step, in order: 'cached' or 'done'. */
export function stepStatuses(stdout: string): string[] {
  return events(stdout)
    .filter((e) => e.type === 'step' && e.status !== 'running')
    .map((e) => String(e.status));
}

export function ok(r: RunResult, what: string): void {
  assert.equal(r.code, 0, `${what} failed (exit ${r.code}):\n${r.stderr}\n${r.stdout.slice(-3000)}`);
}

/** Copies an example into the workspace (the rootless user cannot write into the repository). */
export function copyExample(name: string, workspace: string): string {
  const dest = path.join(workspace, name);
  fs.cpSync(path.join(examplesDir, name), dest, { recursive: true });
  fs.rmSync(path.join(dest, 'strata.lock'), { force: true });
  for (const f of fs.readdirSync(path.join(dest, 'results'), { withFileTypes: true }))
    if (f.name !== '.gitignore')
      fs.rmSync(path.join(dest, 'results', f.name), { recursive: true, force: true });
  return dest;
}

export function writeSpec(dir: string, text: string, file = 'strata.yaml'): string {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, file), text);
  return path.join(dir, file);
}

export function sha256File(file: string): string {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

/** Every diff_id in a lock, in order (base layers, then steps), and its manifest digest. */
export function lockDigests(lockText: string): { diffIds: string[]; manifest: string } {
  const diffIds = [...lockText.matchAll(/diffId: (sha256:[0-9a-f]{64})/g)].map((m) => m[1]);
  const manifest = /\n {2}manifest: (sha256:[0-9a-f]{64})/.exec(lockText)?.[1] ?? '';
  return { diffIds, manifest };
}

export function listDir(dir: string): string[] {
  try {
    return fs.readdirSync(dir).sort();
  } catch {
    return [];
  }
}

export const debianSeeded = process.env.STRATA_TEST_DEBIAN !== '0';
