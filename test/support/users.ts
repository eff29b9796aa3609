// Unprivileged users for rootless tests. CI runs as root, users are not: every suite that touches
// namespaces runs as root and again as these users.
//   strata-test        no /etc/subuid range: the single-id mapping, the usual case on shared HPC machines
//   strata-test-range  a 65536-id range in /etc/subuid and /etc/subgid, used through newuidmap/newgidmap
import { execFileSync, spawn, SpawnOptions } from 'node:child_process';
import * as fs from 'node:fs';
import { isRoot } from './prereq';

export const SINGLE_ID_USER = 'strata-test';
export const RANGE_USER = 'strata-test-range';
const RANGE_START = 400000;

function userExists(name: string): boolean {
  try {
    execFileSync('id', ['-u', name], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function setSubidLine(file: string, user: string, range: string | undefined): void {
  const lines = fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];
  const kept = lines.filter((l) => !l.startsWith(`${user}:`));
  if (range) kept.push(`${user}:${range}`);
  fs.writeFileSync(file, kept.map((l) => l + '\n').join(''));
}

/** Creates both test users (as root; idempotent). Outside root the current user is the rootless case. */
export function ensureTestUsers(): void {
  if (!isRoot()) return;
  for (const user of [SINGLE_ID_USER, RANGE_USER]) {
    if (!userExists(user)) execFileSync('useradd', ['-m', '-s', '/bin/bash', user], { stdio: 'inherit' });
  }
  for (const file of ['/etc/subuid', '/etc/subgid']) {
    setSubidLine(file, SINGLE_ID_USER, undefined);
    setSubidLine(file, RANGE_USER, `${RANGE_START}:65536`);
  }
}

export function uidOf(user: string): number {
  return Number(execFileSync('id', ['-u', user]).toString().trim());
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunAsOptions {
  user?: string;
  env?: Record<string, string>;
  cwd?: string;
  input?: string;
  timeoutMs?: number;
}

/** The argv that runs `cmd args` as `user` (as root) or as ourselves (when already unprivileged). */
export function asUserArgv(cmd: string, args: string[], user = SINGLE_ID_USER): [string, string[]] {
  if (!isRoot()) return [cmd, args];
  return ['runuser', ['-u', user, '--', cmd, ...args]];
}

/** Runs a command as the unprivileged test user and collects its output. */
export function runAsUnprivileged(
  cmd: string,
  args: string[],
  options: RunAsOptions = {},
): Promise<RunResult> {
  const [file, argv] = asUserArgv(cmd, args, options.user);
  const home = isRoot() ? `/home/${options.user ?? SINGLE_ID_USER}` : process.env.HOME;
  const spawnOptions: SpawnOptions = {
    cwd: options.cwd ?? '/',
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: home,
      USER: options.user ?? SINGLE_ID_USER,
      ...options.env,
    },
  };
  return runCollect(file, argv, spawnOptions, options.input, options.timeoutMs);
}

export function runCollect(
  file: string,
  args: string[],
  options: SpawnOptions,
  input?: string,
  timeoutMs = 60000,
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { ...options, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
    // A child that exits before reading its input closes the pipe: EPIPE is not the test's error.
    child.stdin!.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code !== 'EPIPE') reject(e);
    });
    child.stdin!.end(input ?? '');
  });
}
