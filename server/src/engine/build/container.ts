// Runs one container through the sandbox (engine/sandbox/run.ts over `strata-box run`): an overlay
// of layer trees (top first) with an upper and a work dir, binds, env, cwd, network, limits, TTY.
// Build steps collect the output line by line; workloads inherit the caller's terminal. A failure
// of strata-box itself is a StrataError('SANDBOX') with a hint (the CLI exits 125); the workload's
// own exit code (126/127 when it could not be executed) is returned.
import { startSandbox, type SandboxMount, type SandboxRunOptions } from '../sandbox/run';
import type { NetworkMode, Resources } from './model';

export interface Bind {
  src: string;
  dest: string;
  readonly: boolean;
}

export interface ContainerRequest {
  /** Layer trees, top first. */
  lowers: string[];
  upper: string;
  work: string;
  env: Record<string, string>;
  cwd?: string;
  network: NetworkMode;
  fakeroot: boolean;
  /**
   * Container root is the invoking user alone even where /etc/subuid gives a range (strata-box
   * run --single-id). Build steps set it, so every user's steps see the same ids; workloads do not.
   */
  singleId?: boolean;
  argv: string[];
  binds?: Bind[];
  tty?: boolean;
  resources?: Resources;
  hostname?: string;
  signal?: AbortSignal;
  /** Each line of stdout and stderr as it comes (build steps). Without it, stdio is inherited. */
  onLine?: (line: string) => void;
  /** Warnings strata-box reports (e.g. no writable cgroup for limits). */
  onWarning?: (message: string) => void;
}

export interface ContainerResult {
  /** The workload's exit code (128+N when killed by signal N, 126/127 cannot execute/not found). */
  code: number;
  /** Why the command could not be executed (with code 126 or 127). */
  execError?: string;
  signal?: number;
  oomKilled?: boolean;
  rusage: { wallMs: number; userCpuMs: number; systemCpuMs: number; maxRssKiB: number };
}

function splitLines(
  stream: NodeJS.ReadableStream | null | undefined,
  onLine: (line: string) => void,
): Promise<void> {
  return new Promise((resolve) => {
    if (!stream) return resolve();
    let rest = '';
    stream.setEncoding('utf8');
    stream.on('data', (d: string) => {
      const lines = (rest + d).split(/\r?\n|\r/);
      rest = lines.pop() ?? '';
      lines.forEach(onLine);
    });
    stream.on('end', () => {
      if (rest) onLine(rest);
      resolve();
    });
    stream.on('error', () => resolve());
  });
}

/**
 * What a container request asks of `strata-box run` (root, command, mounts, env, ids, limits): one
 * function, so the native front end's cached run plan (run/plan-hook.ts) replays exactly the argv
 * runContainer uses. `dirs` replaces the upper and work dirs (the plan stores placeholders).
 */
export function sandboxOptionsFor(
  req: Omit<ContainerRequest, 'signal' | 'onWarning' | 'onLine'>,
  dirs: { upper: string; work: string } = req,
): Omit<SandboxRunOptions, 'stdin' | 'stdout' | 'stderr' | 'signal' | 'onEvent'> {
  const mounts: SandboxMount[] = (req.binds ?? []).map((b) => ({
    type: b.readonly ? 'ro-bind' : 'bind',
    src: b.src,
    dest: b.dest,
  }));
  const r = req.resources ?? {};
  return {
    overlay: { lower: req.lowers, upper: dirs.upper, work: dirs.work },
    command: req.argv,
    mounts,
    env: req.env,
    ...(req.cwd ? { cwd: req.cwd } : {}),
    ...(req.hostname ? { hostname: req.hostname } : {}),
    net: req.network,
    tty: !!req.tty,
    fakeroot: req.fakeroot,
    ...(req.singleId ? { singleId: true } : {}),
    ...(r.memory ? { memoryBytes: r.memory } : {}),
    ...(r.pids ? { pids: r.pids } : {}),
    ...(r.cpus ? { cpus: r.cpus } : {}),
  };
}

export async function runContainer(req: ContainerRequest): Promise<ContainerResult> {
  const collect = !!req.onLine;
  const { child, result } = startSandbox({
    ...sandboxOptionsFor(req),
    stdin: collect ? 'ignore' : 'inherit',
    stdout: collect ? 'pipe' : 'inherit',
    stderr: collect ? 'pipe' : 'inherit',
    signal: req.signal,
    onEvent: (e) => {
      if (e.event === 'warning') req.onWarning?.(e.message);
    },
  });
  const drained = collect
    ? Promise.all([splitLines(child.stdout, req.onLine!), splitLines(child.stderr, req.onLine!)])
    : Promise.resolve();
  const res = await result;
  await drained;
  return {
    code: res.exitCode,
    ...(res.execError ? { execError: res.execError } : {}),
    ...(res.signal ? { signal: res.signal } : {}),
    ...(res.oomKilled ? { oomKilled: true } : {}),
    rusage: { wallMs: res.wallMs, userCpuMs: res.userMs, systemCpuMs: res.systemMs, maxRssKiB: res.maxRssKb },
  };
}
