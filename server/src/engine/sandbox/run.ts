// Runs a workload in a container through `strata-box run` (native/README.md documents the flags,
// exit codes and status events). The helper writes JSON-lines events on a status fd (here fd 3 of
// the child); they tell a workload's own exit apart from a failure of the sandbox, so the exit
// code alone never has to be guessed at.
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import * as readline from 'node:readline';
import type { Readable } from 'node:stream';
import { StrataError } from '../errors';
import { strataBoxPath } from './binary';

export type NetMode = 'none' | 'host';

export interface SandboxMount {
  /** bind: read-write without devices; ro-bind: read-only; dev-bind: devices usable; tmpfs: fresh. */
  type: 'bind' | 'ro-bind' | 'dev-bind' | 'tmpfs';
  /** Host path (not for tmpfs). */
  src?: string;
  /** Absolute path inside the container; resolved inside the root, so symlinks cannot escape. */
  dest: string;
}

export interface OverlayRoot {
  /** Lower dirs, top first (as overlayfs lists them); empty with upper and work: FROM scratch. */
  lower: string[];
  /** Where the container's writes land; with `work`, or neither for a read-only root. */
  upper?: string;
  work?: string;
}

export type StdioTarget = 'pipe' | 'inherit' | 'ignore' | number;

export interface SandboxRunOptions {
  /** The root: a plain directory, or an overlay. Exactly one. */
  rootfs?: string;
  overlay?: OverlayRoot;
  command: string[];
  mounts?: SandboxMount[];
  /** The whole environment inside (a default PATH is added when absent). */
  env?: Record<string, string>;
  cwd?: string;
  hostname?: string;
  uid?: number;
  gid?: number;
  /** Default 'none': own network namespace with loopback only. */
  net?: NetMode;
  readOnly?: boolean;
  tty?: boolean;
  /** chown and set*id succeed without effect in a single-id container (for apt/dpkg). */
  fakeroot?: boolean;
  /** Map container root to the invoking user alone even where /etc/subuid gives a range (build steps). */
  singleId?: boolean;
  /** Limits; enforced where a cgroup is writable, else a warning event. */
  memoryBytes?: number;
  pids?: number;
  cpus?: number;
  /** After cancellation, how long the workload has to exit before everything is killed. */
  graceMs?: number;
  stdin?: StdioTarget;
  stdout?: StdioTarget;
  stderr?: StdioTarget;
  signal?: AbortSignal;
  onEvent?: (event: SandboxEvent) => void;
}

export type SandboxEvent =
  | { event: 'started'; pid: number }
  | {
      event: 'exited';
      exit_code: number;
      signal: number;
      oom_killed: boolean;
      wall_ms: number;
      user_ms: number;
      system_ms: number;
      max_rss_kb: number;
    }
  | { event: 'warning'; message: string }
  | { event: 'error'; exit_code: number; message: string };

export interface SandboxResult {
  /** The workload's exit code; 128+N when killed by signal N; 126/127 when it could not be run. */
  exitCode: number;
  /** The signal that killed the workload (or the whole container), if any. */
  signal: number | null;
  oomKilled: boolean;
  wallMs: number;
  userMs: number;
  systemMs: number;
  maxRssKb: number;
  /** Set when the command could not be executed (exit code 126 or 127). */
  execError?: string;
  warnings: string[];
}

export interface SandboxProcess {
  /** The strata-box process: its stdin/stdout/stderr are the workload's (when piped). */
  child: ChildProcess;
  result: Promise<SandboxResult>;
}

/** strata-box's own exit codes (native/src/util.h), each with what a user can do about it. */
const FAILURE_HINTS: Record<number, string> = {
  240: 'strata-box was called with bad arguments; this is a bug in Strata',
  241: "check the user's lines in /etc/subuid and /etc/subgid and that newuidmap/newgidmap (package uidmap) are installed",
  242: 'unprivileged user namespaces must be enabled (sysctl user.max_user_namespaces > 0, kernel.unprivileged_userns_clone=1 where present, no AppArmor userns restriction)',
  243: 'overlayfs in a user namespace needs Linux 5.11 or newer, and the upper and work dirs on one file system with user xattrs',
  244: 'check that every bind source exists and every mount destination is an absolute path in the image',
  245: 'the cgroup refused a limit; check the --memory/--pids/--cpus values',
  246: 'the kernel refused a hardening step (seccomp, capabilities, no_new_privs)',
  247: 'the image is unusable as a root: its /proc, /dev or /sys is a symlink, or the working directory or user is wrong',
  248: 'an internal step of strata-box failed; this may be a bug or the machine is out of resources',
  249: 'a pseudo-terminal could not be set up; run without a TTY',
};

/** The argv of `strata-box run` for these options (without the binary). */
export function sandboxArgs(o: SandboxRunOptions, statusFd?: number): string[] {
  if (!!o.rootfs === !!o.overlay)
    throw new StrataError('INTERNAL', 'a sandbox needs exactly one of rootfs and overlay');
  if (o.command.length === 0) throw new StrataError('INTERNAL', 'a sandbox needs a command');
  const a = ['run'];
  if (o.rootfs) a.push('--rootfs', o.rootfs);
  if (o.overlay) {
    for (const l of o.overlay.lower) {
      // ':' separates lower dirs on strata-box's command line, as in overlayfs's own option.
      if (l.includes(':')) throw new StrataError('STORE', `an overlay lower dir may not contain ':' (${l})`);
      a.push('--lower', l);
    }
    if (o.overlay.upper) a.push('--upper', o.overlay.upper);
    if (o.overlay.work) a.push('--work', o.overlay.work);
  }
  for (const m of o.mounts ?? []) {
    if (m.type === 'tmpfs') a.push('--tmpfs', m.dest);
    else {
      if (!m.src) throw new StrataError('INTERNAL', `a ${m.type} mount needs a source (${m.dest})`);
      a.push(`--${m.type}`, m.src, m.dest);
    }
  }
  for (const [k, v] of Object.entries(o.env ?? {})) a.push('--env', `${k}=${v}`);
  if (o.cwd) a.push('--cwd', o.cwd);
  if (o.hostname) a.push('--hostname', o.hostname);
  if (o.uid !== undefined) a.push('--uid', String(o.uid));
  if (o.gid !== undefined) a.push('--gid', String(o.gid));
  a.push('--net', o.net ?? 'none');
  if (o.readOnly) a.push('--read-only');
  if (o.tty) a.push('--tty');
  if (o.fakeroot) a.push('--fakeroot');
  if (o.singleId) a.push('--single-id');
  if (o.memoryBytes !== undefined) a.push('--memory', String(Math.floor(o.memoryBytes)));
  if (o.pids !== undefined) a.push('--pids', String(o.pids));
  if (o.cpus !== undefined) a.push('--cpus', String(o.cpus));
  if (o.graceMs !== undefined) a.push('--grace-ms', String(Math.floor(o.graceMs)));
  if (statusFd !== undefined) a.push('--status-fd', String(statusFd));
  a.push('--', ...o.command);
  return a;
}

/** Starts the container; the workload's stdio is the child's (default: stdin ignored, output piped). */
export function startSandbox(o: SandboxRunOptions): SandboxProcess {
  if (o.signal?.aborted) throw new StrataError('CANCELLED', 'the run was cancelled before it started');
  const args = sandboxArgs(o, 3);
  const stdio: StdioOptions = [o.stdin ?? 'ignore', o.stdout ?? 'pipe', o.stderr ?? 'pipe', 'pipe'];
  const child = spawn(strataBoxPath(), args, { stdio });
  const events = readEvents(child.stdio[3] as Readable, o.onEvent);

  // Cancellation: SIGTERM lets strata-box stop the workload within its grace period; SIGKILL
  // afterwards is the backstop (its init dies with it, and with the init the whole container).
  let killTimer: NodeJS.Timeout | undefined;
  let cancelledRun = false;
  const onAbort = () => {
    cancelledRun = true;
    child.kill('SIGTERM');
    killTimer = setTimeout(() => child.kill('SIGKILL'), (o.graceMs ?? 2000) + 2000);
  };
  o.signal?.addEventListener('abort', onAbort, { once: true });

  let stderrTail = '';
  if (o.stderr === undefined || o.stderr === 'pipe') {
    child.stderr?.on('data', (d: Buffer) => {
      stderrTail = (stderrTail + d.toString()).slice(-4096);
    });
  }

  const result = new Promise<SandboxResult>((resolve, reject) => {
    child.once('error', (e) =>
      reject(new StrataError('SANDBOX', `cannot start strata-box: ${e.message}`, undefined, { cause: e })),
    );
    child.once('close', (code, sig) => {
      o.signal?.removeEventListener('abort', onAbort);
      if (killTimer) clearTimeout(killTimer);
      void events.then((ev) => {
        try {
          resolve(interpret(ev, code, sig, cancelledRun, stderrTail));
        } catch (e) {
          reject(e);
        }
      });
    });
  });
  return { child, result };
}

/** Runs to the end and collects the workload's output. */
export async function runInSandbox(
  o: SandboxRunOptions,
): Promise<SandboxResult & { stdout: string; stderr: string }> {
  const { child, result } = startSandbox({ ...o, stdout: 'pipe', stderr: 'pipe' });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const r = await result;
  return { ...r, stdout, stderr };
}

async function readEvents(stream: Readable, onEvent?: (e: SandboxEvent) => void): Promise<SandboxEvent[]> {
  const all: SandboxEvent[] = [];
  const lines = readline.createInterface({ input: stream, crlfDelay: Infinity });
  for await (const line of lines) {
    if (!line.trim()) continue;
    let e: SandboxEvent;
    try {
      e = JSON.parse(line) as SandboxEvent;
    } catch {
      continue; // not ours: the status fd is written only by strata-box, so this cannot happen
    }
    all.push(e);
    onEvent?.(e);
  }
  return all;
}

function interpret(
  events: SandboxEvent[],
  code: number | null,
  sig: NodeJS.Signals | null,
  cancelledRun: boolean,
  stderrTail: string,
): SandboxResult {
  const warnings = events.flatMap((e) => (e.event === 'warning' ? [e.message] : []));
  const exited = events.find((e) => e.event === 'exited');
  if (exited && exited.event === 'exited' && !cancelledRun) {
    return {
      exitCode: exited.exit_code,
      signal: exited.signal || null,
      oomKilled: exited.oom_killed,
      wallMs: exited.wall_ms,
      userMs: exited.user_ms,
      systemMs: exited.system_ms,
      maxRssKb: exited.max_rss_kb,
      warnings,
    };
  }
  if (cancelledRun) throw new StrataError('CANCELLED', 'the run was cancelled; the container was stopped');
  const error = events.find((e) => e.event === 'error');
  if (error && error.event === 'error') {
    if (error.exit_code === 126 || error.exit_code === 127) {
      return {
        exitCode: error.exit_code,
        signal: null,
        oomKilled: false,
        wallMs: 0,
        userMs: 0,
        systemMs: 0,
        maxRssKb: 0,
        execError: error.message,
        warnings,
      };
    }
    throw new StrataError('SANDBOX', `strata-box: ${error.message}`, FAILURE_HINTS[error.exit_code]);
  }
  const how = sig ? `was killed by ${sig}` : `exited with code ${code}`;
  throw new StrataError(
    'SANDBOX',
    `strata-box ${how} without reporting a result${stderrTail ? `: ${stderrTail.trim()}` : ''}`,
    'this is a bug in strata-box or the machine ran out of memory',
  );
}
