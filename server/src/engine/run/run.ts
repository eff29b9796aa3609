// `strata run` and `strata shell`: the image's layer trees stacked with overlay under a throwaway
// upper dir, the spec's mounts (relative to its folder), env, workdir, resources and network
// (workloads default to none), the caller's terminal when interactive; then a run record.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildEnvironment, type BuildOptions, type BuildResult } from '../build/build';
import { runContainer, type Bind, type ContainerResult } from '../build/container';
import type { BuildEvent } from '../build/events';
import {
  formatPos,
  type EnvironmentSpec,
  type NetworkMode,
  type Resources,
  type WorkloadDef,
} from '../build/model';
import { loadPull } from '../build/lazy';
import { ports } from '../build/ports';
import { loadSpec } from '../build/spec';
import { removeTree } from '../build/tmp';
import { tempName } from '../store/fsutil';
import { StrataError } from '../errors';
import { lockPathFor } from '../lock/format';
import { parseImageRef, formatImageRef } from '../image/ref';
import { openStore, type ResolvedImage, type Store } from '../store/store';
import type { Invocation } from '../plan';
import { runPlanStart, saveRunPlan, type RunPlanStart } from './plan-hook';
import { hashOutputs } from './outputs';
import { hostFacts, newRunId, writeRunRecord, type RunRecord } from './records';
import { chooseWorkload } from './workload';

export interface RunRequest {
  /** The spec to build and run (absent with `image`). */
  specPath?: string;
  workload?: string;
  /** A command instead of (or overriding) the workload's. */
  command?: string[];
  /** Run an image from the store (or a registry) instead of a spec's. */
  image?: string;
  /** Build only from the lock's pins (as strata build --locked). */
  locked?: boolean;
  /** Attach a pseudo-terminal (interactive use). */
  tty?: boolean;
  /** Override the network (default: the workload's, else none). */
  network?: NetworkMode;
  signal?: AbortSignal;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  home?: string;
  onBuildEvent?: (e: BuildEvent) => void;
  onWarning?: (message: string) => void;
  /** What a shell runs: /bin/bash if the image has it, else /bin/sh. */
  shell?: boolean;
  /** The CLI invocation: a plan is left for the native front end to replay it (engine/plan). */
  plan?: Invocation;
}

export interface RunOutcome {
  exitCode: number;
  record: RunRecord;
  recordFile: string;
}

function envMap(list: string[] | undefined): Record<string, string> {
  const env: Record<string, string> = {};
  for (const kv of list ?? []) {
    const i = kv.indexOf('=');
    if (i > 0) env[kv.slice(0, i)] = kv.slice(i + 1);
  }
  return env;
}

function bindsFor(spec: EnvironmentSpec): Bind[] {
  return spec.mounts.map((m) => {
    const src = path.resolve(spec.dir, m.src);
    if (!fs.existsSync(src))
      throw new StrataError(
        'SPEC',
        `${formatPos(m.pos)}: mount source ${m.src} does not exist (${src})`,
        `create it (mkdir -p ${JSON.stringify(src)}) or fix the path; mount sources are relative to the spec's folder`,
      );
    return { src, dest: m.dest, readonly: m.readonly };
  });
}

async function imageForSpec(
  req: RunRequest,
  store: Store,
): Promise<{ spec: EnvironmentSpec; image: ResolvedImage; built: BuildResult; plan?: RunPlanStart }> {
  const loaded = loadSpec(path.resolve(req.specPath!), req.cwd);
  const { spec } = loaded;
  const plan = req.plan && !req.shell && !req.locked ? runPlanStart(req.plan, spec, store.home) : undefined;
  const options: BuildOptions = {
    loaded,
    locked: req.locked,
    signal: req.signal,
    onEvent: req.onBuildEvent,
    env: req.env,
    cwd: req.cwd,
    home: store.home,
  };
  const built = await buildEnvironment(spec.file, options);
  if (built.report?.status === 'drift')
    throw new StrataError(
      'DRIFT',
      `the locked rebuild of ${spec.file} drifted from strata.lock; not running it`,
      'run `strata verify` for the files that differ',
    );
  return {
    spec,
    image: { ...(await store.resolveImage(built.manifestDigest)), name: built.image },
    built,
    ...(plan ? { plan } : {}),
  };
}

async function imageByRef(ref: string, store: Store, req: RunRequest): Promise<ResolvedImage> {
  if (store.findImage(ref)) return store.resolveImage(ref);
  const canonical = formatImageRef(parseImageRef(ref));
  if (store.findImage(canonical)) return store.resolveImage(canonical);
  const pulled = await loadPull().pullImage(ref, {
    store,
    signal: req.signal,
    unpack: ports.pullUnpacks(),
  });
  return store.resolveImage(pulled.name);
}

/**
 * The run's scratch dir is usually empty but for overlay's work/work: a few rmdir calls cost less
 * than a recursive removal's walk. Anything the workload left in upper is removed the long way.
 */
function removeRunDir(dir: string): void {
  try {
    for (const d of ['upper', 'work/work', 'work', '.']) fs.rmdirSync(path.join(dir, d));
  } catch {
    removeTree(dir);
  }
}

function lockDigest(spec: EnvironmentSpec | undefined): RunRecord['lock'] {
  if (!spec) return undefined;
  const file = lockPathFor(spec.file);
  try {
    return {
      path: file,
      digest: `sha256:${createHash('sha256').update(fs.readFileSync(file)).digest('hex')}`,
    };
  } catch {
    return undefined;
  }
}

export async function runEnvironment(req: RunRequest): Promise<RunOutcome> {
  const store = openStore(req.home ?? (req.env ?? process.env).STRATA_HOME);
  let spec: EnvironmentSpec | undefined;
  let image: ResolvedImage;
  let built: BuildResult | undefined;
  let plan: RunPlanStart | undefined;
  if (req.image) image = await imageByRef(req.image, store, req);
  else ({ spec, image, built, plan } = await imageForSpec(req, store));

  const workload: WorkloadDef | undefined =
    spec && !req.shell ? chooseWorkload(spec, req.workload, req.command) : undefined;
  const cfg = image.config.config ?? {};
  let argv = req.command?.length
    ? req.command
    : (workload?.command ?? [...(cfg.Entrypoint ?? []), ...(cfg.Cmd ?? [])]);
  const lowers: string[] = [];
  for (const l of image.layers)
    lowers.unshift(
      await ports.ensureTree(store, l.descriptor, l.diffId.toString(), `layer of ${image.name}`),
    );
  if (req.shell && !req.command?.length)
    argv = [
      lowers.some(
        (t) =>
          fs.existsSync(path.join(t, 'bin', 'bash')) || fs.existsSync(path.join(t, 'usr', 'bin', 'bash')),
      )
        ? '/bin/bash'
        : '/bin/sh',
    ];
  if (argv.length === 0)
    throw new StrataError(
      'USAGE',
      `${image.name} has no command to run`,
      'give one after --: strata run ... -- CMD ARGS',
    );

  const env = { ...envMap(cfg.Env), ...(workload?.env ?? {}) };
  const hostEnv = req.env ?? process.env;
  if (req.tty && hostEnv.TERM) env.TERM = hostEnv.TERM;
  const cwd = workload?.workdir ?? cfg.WorkingDir ?? '/';
  const binds = spec ? bindsFor(spec) : [];
  const network: NetworkMode = req.network ?? workload?.network ?? 'none';
  const resources: Resources = workload?.resources ?? {};

  const id = newRunId();
  // run-<pid>-<hex> (tempName): gc removes a crashed run's dir as soon as this process is gone.
  const dir = path.join(store.paths.tmp, tempName('run'));
  fs.mkdirSync(path.join(dir, 'upper'), { recursive: true });
  fs.mkdirSync(path.join(dir, 'work'));
  const container = {
    lowers,
    upper: path.join(dir, 'upper'),
    work: path.join(dir, 'work'),
    env,
    cwd,
    network,
    fakeroot: false,
    argv,
    binds,
    tty: !!req.tty,
    resources,
  };
  // The plan's inputs are compared again before the container can change any of them.
  const confirmed = plan && built && plan.confirm(built, lowers, binds);
  const release = await store.lease([image.digest]);
  const startedAt = new Date();
  let result: ContainerResult | undefined;
  let interrupted: StrataError | undefined;
  try {
    result = await runContainer({ ...container, signal: req.signal, onWarning: req.onWarning });
  } catch (e) {
    // Ctrl-C (or SIGTERM) during the run: the run is still recorded, as interrupted.
    if (!(e instanceof StrataError && e.code === 'CANCELLED' && req.signal?.aborted)) throw e;
    interrupted = e;
  } finally {
    release();
    removeRunDir(dir);
  }
  const endedAt = new Date();
  // A command that cannot be executed (126/127) was already explained by strata-box on stderr.

  const lock = lockDigest(spec);
  const exit: RunRecord['exit'] = result
    ? {
        code: result.code,
        ...(result.signal ? { signal: `signal ${result.signal}` } : {}),
        ...(result.oomKilled ? { oomKilled: true } : {}),
      }
    : { code: 130, interrupted: interruptingSignal(req.signal) };
  const record: RunRecord = {
    id,
    ...(spec ? { spec: spec.file } : {}),
    ...(workload ? { workload: workload.name } : {}),
    image: { name: image.name, manifest: image.digest.toString(), config: image.configDigest.toString() },
    ...(lock ? { lock } : {}),
    command: argv,
    env,
    workdir: cwd,
    mounts: binds,
    network,
    resources,
    host: hostFacts(),
    startedAt: startedAt.toISOString(),
    endedAt: endedAt.toISOString(),
    durationMs: endedAt.getTime() - startedAt.getTime(),
    exit,
    rusage: result
      ? {
          userCpuMs: result.rusage.userCpuMs,
          systemCpuMs: result.rusage.systemCpuMs,
          maxRssKiB: result.rusage.maxRssKiB,
        }
      : {},
    outputs: spec && workload ? await hashOutputs(spec.dir, workload.outputs) : [],
  };
  const recordFile = writeRunRecord(store.home, record);
  if (interrupted) throw interrupted;
  if (plan && confirmed && spec)
    saveRunPlan(plan, confirmed, {
      home: store.home,
      lease: image.digest.toString(),
      container,
      record,
      specDir: spec.dir,
      outputs: workload?.outputs ?? [],
    });
  return { exitCode: exit.code, record, recordFile };
}

/** The signal named in the abort reason (`cancelled by SIGINT`), else SIGINT. */
function interruptingSignal(signal: AbortSignal | undefined): string {
  const reason: unknown = signal?.reason;
  const text = reason instanceof Error ? reason.message : String(reason ?? '');
  return /\bSIG[A-Z0-9]+\b/.exec(text)?.[0] ?? 'SIGINT';
}
