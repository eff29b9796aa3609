// Builds image documents (config, manifest) from layers and stores them. Serialisation is
// JSON.stringify of objects built with a fixed key order, so the same inputs give the same digests.
import type { Digest } from '../digest';
import type { Store } from '../store/store';
import { MediaType } from './media-types';
import type { ContainerConfig, Descriptor, HistoryEntry, ImageConfig, Manifest } from './types';

export interface ImageLayer {
  descriptor: Descriptor;
  diffId: Digest | string;
  /** A history line for this layer ("created_by"). */
  createdBy?: string;
}

export interface ImageSpec {
  architecture: string;
  os: string;
  variant?: string;
  /** RFC 3339; for reproducible images derive it from the epoch. */
  created?: string;
  config?: ContainerConfig;
  layers: ImageLayer[];
  /** History of the base image, kept in front of the new layers'. */
  baseHistory?: HistoryEntry[];
  annotations?: Record<string, string>;
}

export function makeConfig(spec: ImageSpec): ImageConfig {
  const history: HistoryEntry[] = [
    ...(spec.baseHistory ?? []),
    ...spec.layers.map((l) => ({
      ...(spec.created ? { created: spec.created } : {}),
      created_by: l.createdBy ?? 'strata',
    })),
  ];
  return {
    ...(spec.created ? { created: spec.created } : {}),
    architecture: spec.architecture,
    os: spec.os,
    ...(spec.variant ? { variant: spec.variant } : {}),
    config: spec.config ?? {},
    rootfs: { type: 'layers', diff_ids: spec.layers.map((l) => l.diffId.toString()) },
    history,
  };
}

export function makeManifest(
  config: Descriptor,
  layers: Descriptor[],
  annotations?: Record<string, string>,
): Manifest {
  return {
    schemaVersion: 2,
    mediaType: MediaType.OciManifest,
    config: { mediaType: config.mediaType, digest: config.digest, size: config.size },
    layers: layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
    ...(annotations && Object.keys(annotations).length ? { annotations } : {}),
  };
}

/** Stores config and manifest for `spec` (its layer blobs must be stored) and names it when `name` is given. */
export async function putImage(
  store: Store,
  spec: ImageSpec,
  name?: string,
): Promise<{ manifest: Descriptor; config: Descriptor }> {
  const config = await store.putJson(makeConfig(spec), MediaType.OciConfig);
  const manifest = await store.putJson(
    makeManifest(
      config,
      spec.layers.map((l) => l.descriptor),
      spec.annotations,
    ),
    MediaType.OciManifest,
  );
  if (name) await store.tagImage(name, manifest);
  return { manifest, config };
}
