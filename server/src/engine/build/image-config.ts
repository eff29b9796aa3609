// The image config and manifest of a built environment. No build-time clock: `created` and the
// history times are the epoch, so the config digest depends only on the inputs (issue 5 §2).
import { makeManifest } from '../image/builder';
import { MediaType } from '../image/media-types';
import type { Descriptor, HistoryEntry, ImageConfig, Manifest } from '../image/types';
import type { ConfigDef } from './model';

export const SPEC_DIGEST_LABEL = 'org.strata.spec.digest';
export const LOCK_DIGEST_LABEL = 'org.strata.lock.digest';

export function epochTime(epoch: number): string {
  return new Date(epoch * 1000).toISOString().replace(/\.000Z$/, 'Z');
}

/** Base Env list with the spec's variables replacing or following it, in a fixed order. */
export function mergeEnv(base: string[] | undefined, env: Record<string, string>): string[] {
  const out = [...(base ?? [])];
  for (const [k, v] of Object.entries(env)) {
    const i = out.findIndex((e) => e.split('=')[0] === k);
    if (i >= 0) out[i] = `${k}=${v}`;
    else out.push(`${k}=${v}`);
  }
  return out;
}

/** Layer media types normalised to OCI (a Docker gzip layer is the same bytes). */
function ociLayer(d: Descriptor): Descriptor {
  const mediaType =
    d.mediaType === MediaType.DockerLayerGzip
      ? MediaType.OciLayerGzip
      : d.mediaType === 'application/vnd.docker.image.rootfs.diff.tar'
        ? MediaType.OciLayer
        : d.mediaType;
  return { mediaType, digest: d.digest, size: d.size };
}

export interface AssembleInput {
  baseConfig?: ImageConfig;
  platform: string;
  config: ConfigDef;
  epoch: number;
  baseLayers: { descriptor: Descriptor; diffId: string }[];
  steps: { descriptor: Descriptor; diffId: string; createdBy: string }[];
  labels: Record<string, string>;
}

export function assembleConfig(input: AssembleInput): ImageConfig {
  const [os, architecture, variant] = input.platform.split('/');
  const base = input.baseConfig?.config ?? {};
  const created = epochTime(input.epoch);
  const c = input.config;
  const history: HistoryEntry[] = [
    ...(input.baseConfig?.history ?? []),
    ...input.steps.map((s) => ({ created, created_by: `strata ${s.createdBy}` })),
  ];
  const labels = { ...(base.Labels ?? {}), ...c.labels, ...input.labels };
  return {
    created,
    architecture: architecture ?? 'amd64',
    os: os ?? 'linux',
    ...(variant ? { variant } : {}),
    config: {
      ...((c.user ?? base.User) ? { User: c.user ?? base.User } : {}),
      Env: mergeEnv(base.Env, c.env),
      ...(c.entrypoint
        ? { Entrypoint: c.entrypoint }
        : base.Entrypoint
          ? { Entrypoint: base.Entrypoint }
          : {}),
      ...(c.cmd ? { Cmd: c.cmd } : c.entrypoint ? {} : base.Cmd ? { Cmd: base.Cmd } : {}),
      ...((c.workdir ?? base.WorkingDir) ? { WorkingDir: c.workdir ?? base.WorkingDir } : {}),
      Labels: labels,
    },
    rootfs: {
      type: 'layers',
      diff_ids: [...input.baseLayers.map((l) => l.diffId), ...input.steps.map((s) => s.diffId)],
    },
    history,
  };
}

/** The image's manifest: the store's builder, with config and layers in their OCI media types. */
export function assembleManifest(config: Descriptor, layers: Descriptor[]): Manifest {
  return makeManifest({ ...config, mediaType: MediaType.OciConfig }, layers.map(ociLayer));
}
