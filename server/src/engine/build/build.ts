// `strata build`: spec -> base -> one layer per step (cached) -> config and manifest named
// strata/<name> in the store -> strata.lock. With `locked`, only the lock's pins are used and
// every diff_id is compared with it. See README.md in this folder for the decisions.
import * as path from 'node:path';
import { digestOf } from '../digest';
import { StrataError } from '../errors';
import type { Descriptor } from '../image/types';
import { MediaType } from '../image/media-types';
import { formatLock, lockPathFor, readLock, writeLockIfChanged } from '../lock/format';
import { lockStaleness } from '../lock/stale';
import { LOCK_VERSION, type Lock, type LockStep } from '../lock/types';
import { openStore, type Store } from '../store/store';
import { resolveBase, type BaseImage } from './base';
import { chainRoot } from './cache-key';
import { sha256Digest, specDigest, specFields, stepDefinitionDigest, stepText } from './canonical';
import type { BuildEvent, LockWriteStatus, VerifyReport } from './events';
import { assembleConfig, assembleManifest, LOCK_DIGEST_LABEL, SPEC_DIGEST_LABEL } from './image-config';
import { BuildLog } from './log';
import { stepLabel, type EnvironmentSpec } from './model';
import { compareWithLock } from './compare';
import { runStep, type StepOutcome } from './step';
import { loadSpec } from './spec';

export interface BuildOptions {
  /** Run every step, ignoring the build cache. */
  noCache?: boolean;
  /** Build only from strata.lock's pins; refuse a stale lock; compare every diff_id. */
  locked?: boolean;
  signal?: AbortSignal;
  onEvent?: (e: BuildEvent) => void;
  /** The store ($STRATA_HOME by default). */
  home?: string;
  /** Environment for registry settings and pip's index (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Folder that relative paths in messages are shown against (default process.cwd()). */
  cwd?: string;
  /** Do not write strata.lock (verify). */
  noLockWrite?: boolean;
  /** A store that holds the locked layers, for listing drifted files (verify). */
  referenceStore?: Store;
  /** The spec at specPath, already loaded by the caller (strata run): not parsed a second time. */
  loaded?: { spec: EnvironmentSpec; warnings: string[] };
}

export interface BuiltLayer {
  digest: string;
  diffId: string;
  size: number;
  /** The step that made it (`apt: ...`); absent for base layers. */
  step?: string;
}

export interface BuildResult {
  spec: string;
  name: string;
  /** strata/<name> in the store. */
  image: string;
  manifestDigest: string;
  configDigest: string;
  layers: BuiltLayer[];
  lockPath: string;
  lockStatus: LockWriteStatus;
  /** The cache key of each step (a cached rebuild reads these entries; engine/plan checks them). */
  cacheKeys: string[];
  /** Steps run and taken from the cache. */
  ran: number;
  cached: number;
  /** With `locked`: the comparison with the lock. */
  report?: VerifyReport;
  logFile: string;
  warnings: string[];
  elapsedMs: number;
  store: string;
}

function checkCancelled(signal?: AbortSignal): void {
  if (signal?.aborted)
    throw new StrataError('CANCELLED', 'build cancelled', 'nothing was kept of the step that was running');
}

function baseEpoch(base: BaseImage): number {
  const created = base.config?.created ? Date.parse(base.config.created) : NaN;
  return Number.isFinite(created) && created > 0 ? Math.floor(created / 1000) : 0;
}

export async function buildEnvironment(specPath: string, options: BuildOptions = {}): Promise<BuildResult> {
  const started = Date.now();
  const emit = (e: BuildEvent) => options.onEvent?.(e);
  const { spec, warnings } = options.loaded ?? loadSpec(path.resolve(specPath), options.cwd);
  const store = openStore(options.home ?? (options.env ?? process.env).STRATA_HOME);
  const lockPath = lockPathFor(spec.file);
  const lock = readLockForBuild(lockPath, !!options.locked);
  if (options.locked) {
    if (!lock)
      throw new StrataError(
        'LOCK',
        `${path.relative(options.cwd ?? process.cwd(), lockPath) || lockPath} does not exist`,
        'run `strata build` (without --locked) to write it',
      );
    const s = lockStaleness(spec, lock);
    if (s.stale)
      throw new StrataError(
        'LOCK',
        `${lockPath} is stale: the spec changed since it was written (${s.changed.join('; ')})`,
        'run `strata build` to update the lock, or restore the spec it was made from',
      );
  }
  return store.withShared(() => buildWith(spec, store, lock, lockPath, warnings, options, emit, started));
}

/** Stores a JSON document unless the store already holds those exact bytes (no rewrite, no fsync). */
async function putJsonOnce(store: Store, value: unknown, mediaType: string): Promise<Descriptor> {
  const bytes = Buffer.from(JSON.stringify(value));
  const digest = digestOf(bytes);
  if (store.hasBlob(digest)) return { mediaType, digest: digest.toString(), size: bytes.length };
  return store.putBytes(bytes, mediaType);
}

function readLockForBuild(lockPath: string, locked: boolean): Lock | undefined {
  try {
    return readLock(lockPath);
  } catch (e) {
    if (locked) throw e;
    return undefined; // unreadable lock without --locked: it is rewritten from this build
  }
}

async function buildWith(
  spec: EnvironmentSpec,
  store: Store,
  lock: Lock | undefined,
  lockPath: string,
  warnings: string[],
  options: BuildOptions,
  emit: (e: BuildEvent) => void,
  started: number,
): Promise<BuildResult> {
  const total = spec.steps.length;
  emit({
    type: 'start',
    spec: spec.file,
    name: spec.name,
    steps: total,
    locked: !!options.locked,
    noCache: !!options.noCache,
  });
  const usable = lock && lock.platform === spec.platform && lock.base.ref === spec.from ? lock : undefined;
  const base = await resolveBase({
    store,
    from: spec.from,
    platform: spec.platform,
    pinned: usable?.base.digest,
    signal: options.signal,
    onEvent: emit,
    seedFrom: options.referenceStore,
  });
  checkCancelled(options.signal);
  if (base.digest) emit({ type: 'base', ref: spec.from, digest: base.digest, layers: base.layers.length });
  const epoch = lock?.epoch ?? baseEpoch(base);
  const log = new BuildLog(store.home, spec.name);
  const outcomes: StepOutcome[] = [];
  let ran = 0;
  let cached = 0;
  try {
    let parent = chainRoot({ base: base.digest ?? 'scratch', platform: spec.platform, epoch });
    for (let i = 0; i < total; i++) {
      checkCancelled(options.signal);
      const step = spec.steps[i];
      const outcome = await runStep({
        spec,
        step,
        index: i + 1,
        total,
        parent,
        store,
        base,
        below: outcomes,
        epoch,
        lockStep: options.locked ? lock?.steps[i] : undefined,
        noCache: !!options.noCache,
        env: options.env ?? process.env,
        signal: options.signal,
        log,
        emit,
      });
      outcomes.push(outcome);
      if (outcome.cached) cached++;
      else ran++;
      parent = outcome.key;
    }
  } finally {
    log.close();
  }
  checkCancelled(options.signal);

  // The lock without its image part: its digest is a label of the image it describes.
  const newLock: Lock = {
    lockVersion: LOCK_VERSION,
    spec: { digest: specDigest(spec.source), fields: specFields(spec.source) },
    platform: spec.platform,
    epoch,
    base: {
      ref: spec.from,
      ...(base.digest ? { digest: base.digest } : {}),
      layers: base.layers.map((l) => ({
        digest: l.descriptor.digest,
        diffId: l.diffId,
        size: l.descriptor.size,
      })),
    },
    steps: outcomes.map((o, i): LockStep => ({
      step: stepText(spec.steps[i]),
      definition: stepDefinitionDigest(spec.steps[i].source),
      key: o.key,
      layer: { digest: o.descriptor.digest, diffId: o.diffId, size: o.descriptor.size },
      ...(o.apt ? { apt: o.apt } : {}),
      ...(o.pip ? { pip: o.pip } : {}),
    })),
    image: { config: '', manifest: '' },
  };
  const lockBodyDigest = sha256Digest(formatLock(newLock).replace(/\nimage:[\s\S]*$/, '\n'));
  const config = assembleConfig({
    baseConfig: base.config,
    platform: spec.platform,
    config: spec.config,
    epoch,
    baseLayers: base.layers,
    steps: outcomes.map((o, i) => ({
      descriptor: o.descriptor,
      diffId: o.diffId,
      createdBy: stepText(spec.steps[i]),
    })),
    labels: { [SPEC_DIGEST_LABEL]: newLock.spec.digest, [LOCK_DIGEST_LABEL]: lockBodyDigest },
  });
  const configDesc = await putJsonOnce(store, config, MediaType.OciConfig);
  const layerDescs: Descriptor[] = [
    ...base.layers.map((l) => l.descriptor),
    ...outcomes.map((o) => o.descriptor),
  ];
  const manifest = assembleManifest(configDesc, layerDescs);
  const manifestDesc = await putJsonOnce(store, manifest, MediaType.OciManifest);
  const imageName = `strata/${spec.name}`;
  // A no-change rebuild names the same manifest again: leave index.json alone then.
  if (store.findImage(imageName)?.digest !== manifestDesc.digest)
    await store.tagImage(imageName, manifestDesc);
  emit({
    type: 'image',
    name: imageName,
    manifestDigest: manifestDesc.digest,
    configDigest: configDesc.digest,
  });
  newLock.image = { config: configDesc.digest, manifest: manifestDesc.digest };

  let report: VerifyReport | undefined;
  let lockStatus: LockWriteStatus = 'not-written';
  if (options.locked && lock) {
    report = await compareWithLock({
      spec,
      lock,
      built: newLock,
      stores: [store, ...(options.referenceStore ? [options.referenceStore] : [])],
    });
    emit({ type: 'verify', report });
  } else if (!options.noLockWrite) {
    lockStatus = writeLockIfChanged(lockPath, newLock);
  }
  emit({ type: 'lock', path: lockPath, status: lockStatus });
  const elapsedMs = Date.now() - started;
  emit({ type: 'done', elapsedMs, ran, cached });
  return {
    spec: spec.file,
    name: spec.name,
    image: imageName,
    manifestDigest: manifestDesc.digest,
    configDigest: configDesc.digest,
    layers: [
      ...base.layers.map((l) => ({ digest: l.descriptor.digest, diffId: l.diffId, size: l.descriptor.size })),
      ...outcomes.map((o, i) => ({
        digest: o.descriptor.digest,
        diffId: o.diffId,
        size: o.descriptor.size,
        step: stepLabel(spec.steps[i]),
      })),
    ],
    lockPath,
    lockStatus,
    cacheKeys: outcomes.map((o) => o.key),
    ran,
    cached,
    ...(report ? { report } : {}),
    logFile: path.join(store.home, 'logs', `${spec.name}.log`),
    warnings,
    elapsedMs,
    store: store.home,
  };
}
