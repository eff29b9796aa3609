// One step of a build: look its key up in the cache, or make its layer (copy: from workspace files;
// run/apt/pip: in a container over the layers below), keep it in the cache, report progress.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseDigest } from '../digest';
import { StrataError } from '../errors';
import type { Descriptor } from '../image/types';
import type { AptPin, LockStep, PipPin } from '../lock/types';
import type { CacheEntry, Store } from '../store/store';
import type { BaseImage } from './base';
import { stepKey } from './cache-key';
import { stepText } from './canonical';
import { cachedCopyDigest } from './copy-digest-cache';
import type { BuildEvent } from './events';
import { LineSplitter, type BuildLog } from './log';
import { formatPos, stepLabel, type EnvironmentSpec, type StepDef } from './model';
import { ports } from './ports';
import { aptScript, installedPackages, NO_APT_EXIT } from './steps/apt';
import { NO_PIP_EXIT, pipEnv, pipPinsFromReport, pipScript } from './steps/pip';
import { removeTree, makeStepDirs } from './tmp';

export interface StepOutcome {
  key: string;
  descriptor: Descriptor;
  diffId: string;
  tree: string;
  cached: boolean;
  apt?: AptPin[];
  pip?: PipPin[];
}

export interface StepRequest {
  spec: EnvironmentSpec;
  step: StepDef;
  index: number;
  total: number;
  parent: string;
  store: Store;
  base: BaseImage;
  below: StepOutcome[];
  epoch: number;
  /** The lock's record of this step, when building --locked. */
  lockStep?: LockStep;
  noCache: boolean;
  env: NodeJS.ProcessEnv;
  signal?: AbortSignal;
  log: BuildLog;
  emit: (e: BuildEvent) => void;
}

interface CacheRecord extends CacheEntry {
  step?: string;
  apt?: AptPin[];
  pip?: PipPin[];
}

/** The base image's Env as a map (PATH and friends), then the spec's env on top. */
function stepEnvironment(req: StepRequest): Record<string, string> {
  const env: Record<string, string> = {};
  for (const kv of req.base.config?.config?.Env ?? []) {
    const i = kv.indexOf('=');
    if (i > 0) env[kv.slice(0, i)] = kv.slice(i + 1);
  }
  env.HOME ??= '/root';
  env.PATH ??= '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
  Object.assign(env, req.spec.config.env);
  env.SOURCE_DATE_EPOCH = String(req.epoch);
  return env;
}

async function lookupCache(req: StepRequest, key: string): Promise<StepOutcome | undefined> {
  if (req.noCache) return undefined;
  const entry = req.store.getCacheEntry(parseDigest(key, 'cache key')) as CacheRecord | undefined;
  if (!entry || !req.store.hasBlob(parseDigest(entry.layer.digest, 'cache entry'))) return undefined;
  const tree = await ports.ensureTree(
    req.store,
    entry.layer,
    entry.diffId,
    `cached layer of step ${req.index}`,
  );
  return {
    key,
    descriptor: entry.layer,
    diffId: entry.diffId,
    tree,
    cached: true,
    ...(entry.apt ? { apt: entry.apt } : {}),
    ...(entry.pip ? { pip: entry.pip } : {}),
  };
}

export async function runStep(req: StepRequest): Promise<StepOutcome> {
  const { step, spec } = req;
  const label = stepLabel(step);
  const at = formatPos(step.pos);
  const content =
    step.kind === 'copy'
      ? await cachedCopyDigest(req.store.home, spec.dir, step.src, () =>
          ports.copyContentDigest(path.resolve(spec.dir, step.src), spec.dir),
        )
      : undefined;
  const key = stepKey({
    parent: req.parent,
    step,
    content,
    env: spec.config.env,
    workdir: spec.config.workdir,
  });
  const hit = await lookupCache(req, key);
  if (hit) {
    req.emit({
      type: 'step',
      index: req.index,
      total: req.total,
      label,
      status: 'cached',
      at,
      diffId: hit.diffId,
      size: hit.descriptor.size,
    });
    return hit;
  }
  req.emit({ type: 'step', index: req.index, total: req.total, label, status: 'running', at });
  req.log.section(`step ${req.index}/${req.total} at ${at}: ${stepText(step)}`);
  const t0 = Date.now();
  let made: Omit<StepOutcome, 'key' | 'cached'>;
  try {
    made =
      step.kind === 'copy'
        ? await ports.layerFromCopy(req.store, {
            src: path.resolve(spec.dir, step.src),
            dest: step.dest,
            specDir: spec.dir,
            epoch: req.epoch,
            where: at,
            signal: req.signal,
          })
        : await containerStep(req, step, at);
  } catch (e) {
    req.emit({
      type: 'step',
      index: req.index,
      total: req.total,
      label,
      status: 'failed',
      at,
      elapsedMs: Date.now() - t0,
    });
    throw e;
  }
  const outcome: StepOutcome = { key, cached: false, ...made };
  const record: CacheRecord = {
    layer: outcome.descriptor,
    diffId: outcome.diffId,
    step: stepText(step),
    ...(outcome.apt ? { apt: outcome.apt } : {}),
    ...(outcome.pip ? { pip: outcome.pip } : {}),
  };
  req.store.putCacheEntry(parseDigest(key, 'cache key'), record);
  req.emit({
    type: 'step',
    index: req.index,
    total: req.total,
    label,
    status: 'done',
    at,
    elapsedMs: Date.now() - t0,
    diffId: outcome.diffId,
    size: outcome.descriptor.size,
  });
  return outcome;
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

function scriptFor(req: StepRequest, step: StepDef): { script: string; env: Record<string, string> } {
  switch (step.kind) {
    case 'run': {
      const wd = req.spec.config.workdir;
      const script = wd
        ? `mkdir -p ${shellQuote(wd)} && cd ${shellQuote(wd)} && {\n${step.command}\n}`
        : step.command;
      return { script, env: {} };
    }
    case 'apt':
      return { script: aptScript(step.packages, req.lockStep?.apt), env: {} };
    case 'pip':
      return { script: pipScript(step.packages, req.lockStep?.pip), env: pipEnv(req.env, step.indexUrl) };
    case 'copy':
      throw new Error('copy steps run no container');
  }
}

function stepFailure(req: StepRequest, step: StepDef, at: string, code: number, error?: string): StrataError {
  const last = req.log.lastLines(15);
  const quoted = last.length
    ? `\n  last lines of its output:\n${last.map((l) => `    | ${l}`).join('\n')}`
    : '';
  const command = step.kind === 'run' ? step.command : stepText(step);
  if (step.kind === 'apt' && code === NO_APT_EXIT)
    return new StrataError(
      'BUILD',
      `${at}: step ${req.index}/${req.total} (apt) failed: the image ${req.spec.from} has no apt-get`,
      "apt steps need a Debian or Ubuntu based image; use a run step with the image's own package manager",
    );
  if (step.kind === 'pip' && code === NO_PIP_EXIT)
    return new StrataError(
      'BUILD',
      `${at}: step ${req.index}/${req.total} (pip) failed: the image has no pip (python3 -m pip does not run)`,
      'install it first, e.g. add a step `- apt: [python3-pip]` before this one',
    );
  const why = error
    ? `${error} (exit code ${code})`
    : code === 127
      ? 'command not found (exit code 127)'
      : `exit code ${code}`;
  return new StrataError(
    'BUILD',
    `${at}: step ${req.index}/${req.total} (${step.kind}) failed: ${why}\n  command: ${command.split('\n').join('\n           ')}${quoted}`,
    `the whole output is in ${req.log.file}`,
  );
}

async function containerStep(
  req: StepRequest,
  step: StepDef,
  at: string,
): Promise<Omit<StepOutcome, 'key' | 'cached'>> {
  if (req.below.length === 0 && req.base.layers.length === 0)
    throw new StrataError(
      'BUILD',
      `${at}: step ${req.index}/${req.total} (${step.kind}) needs a file system to run in, and \`from: scratch\` with no step before it has none`,
      'copy a root file system with a shell in first, or start from an image (e.g. docker.io/library/busybox)',
    );
  const dirs = makeStepDirs(req.store);
  try {
    const { script, env } = scriptFor(req, step);
    const lowers = [...req.below.map((o) => o.tree)]
      .reverse()
      .concat([...req.base.layers.map((l) => l.tree)].reverse());
    const splitter = new LineSplitter((line) => {
      req.log.line(line);
      req.emit({ type: 'output', index: req.index, line });
    });
    const result = await ports.runContainer({
      lowers,
      upper: dirs.upper,
      work: dirs.work,
      env: { ...stepEnvironment(req), ...env },
      network: step.kind === 'run' ? step.network : 'host',
      fakeroot: true,
      argv: ['/bin/sh', '-c', script],
      signal: req.signal,
      onLine: (l) => splitter.push(l + '\n'),
    });
    splitter.flush();
    if (req.signal?.aborted)
      throw new StrataError(
        'CANCELLED',
        `build cancelled during step ${req.index} at ${at}`,
        'nothing of that step was kept',
      );
    if (result.code !== 0) throw stepFailure(req, step, at, result.code, result.execError);
    let apt: AptPin[] | undefined;
    let pip: PipPin[] | undefined;
    const handOver = path.join(dirs.upper, '.strata-step');
    if (step.kind === 'apt') {
      apt = installedPackages(
        fs.readFileSync(path.join(handOver, 'before'), 'utf8'),
        fs.readFileSync(path.join(handOver, 'after'), 'utf8'),
      );
    } else if (step.kind === 'pip') {
      pip = pipPinsFromReport(fs.readFileSync(path.join(handOver, 'report.json'), 'utf8'));
    }
    removeTree(handOver);
    const layer = await ports.layerFromUpper(req.store, dirs.upper, {
      epoch: req.epoch,
      where: at,
      signal: req.signal,
    });
    return { ...layer, ...(apt ? { apt } : {}), ...(pip ? { pip } : {}) };
  } finally {
    removeTree(dirs.root);
  }
}
