// `strata pull`: reference -> verified blobs in the store -> unpacked layer trees -> a name.
//
// Order matters for crash safety: blobs are ingested atomically (a crash leaves only temp files),
// layer trees are renamed into place only when complete, and the name is written last, so an
// interrupted pull leaves no name pointing at missing content and the next pull resumes (blobs and
// trees already present are reused). The whole pull holds the store's shared lock, so a concurrent
// gc cannot remove what it has fetched but not yet named.
import { Digest, parseDigest } from '../digest';
import { StrataError } from '../errors';
import { formatImageRef, manifestReference, parseImageRef, type ImageRef } from '../image/ref';
import {
  isConfigMediaType,
  isForeignLayer,
  isManifestMediaType,
  layerCompression,
} from '../image/media-types';
import type { Descriptor, ImageConfig, Manifest, Platform } from '../image/types';
import * as path from 'node:path';
import { staleTempEntries } from '../store/gc';
import { ensureLayerTree, removeTreeForce } from '../store/layer-trees';
import type { Store } from '../store/store';
import { fetchBlobToStore } from './blobs';
import { fetchLayer, type LayerFetchOptions, type LayerFetchResult } from './layer-fetch';
import { RegistryClient, type RepositoryClient } from './client';
import { pullEndpoints } from './config';
import { firstEndpoint } from './endpoints';
import { byteProgress, type TransferListener } from './events';
import { fetchManifest, type FetchedManifest } from './manifest';
import { formatPlatform, hostPlatform, selectPlatform } from './platform';

export interface PullOptions {
  store: Store;
  /** The platform to choose from an index (default: this machine's). */
  platform?: Platform;
  client?: RegistryClient;
  signal?: AbortSignal;
  onEvent?: TransferListener;
  /** The name in the store (default: the normalised reference, e.g. docker.io/library/debian:bookworm). */
  name?: string;
  /** Layers downloaded at once (default 3). */
  concurrency?: number;
  /**
   * Unpack each layer into the store's layer trees (default true): read with the layer codec,
   * every hostile-entry check and the diff_id verified, written by `strata-box apply`.
   * False stops after the verified blobs (e.g. to push them elsewhere).
   */
  unpack?: boolean;
}

export interface PulledLayer {
  digest: string;
  diffId: string;
  size: number;
  mediaType: string;
}

export interface PullResult {
  /** The name in the store. */
  name: string;
  /** The reference pinned to the manifest digest: docker.io/library/debian:bookworm@sha256:… */
  pinned: string;
  digest: string;
  /** The index the manifest was chosen from, if any. */
  indexDigest?: string;
  platform: string;
  configDigest: string;
  layers: PulledLayer[];
  /** Where it came from (a mirror or the registry). */
  from: string;
  /** Bytes that came over the network (blobs already in the store count 0). */
  bytesDownloaded: number;
  /** Bytes of layers that earlier, interrupted pulls had kept and this one did not fetch again. */
  bytesResumed: number;
}

/** Runs `work` on every item with at most `limit` at once; the first failure cancels the rest. */
async function forEachLimited<T>(
  items: T[],
  limit: number,
  work: (item: T, index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failed: unknown;
  const runner = async () => {
    while (failed === undefined && next < items.length) {
      const i = next++;
      try {
        await work(items[i]!, i);
      } catch (e) {
        failed ??= e;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, runner));
  if (failed !== undefined) throw failed;
}

function checkLayers(manifest: Manifest, refText: string): void {
  manifest.layers.forEach((l, i) => {
    const compression = layerCompression(l.mediaType);
    if (compression === undefined) {
      throw new StrataError(
        'REGISTRY',
        `${refText} layer ${i + 1} has media type ${l.mediaType}, which is not an image layer`,
        'only OCI and Docker image layers can be pulled',
      );
    }
  });
  if (!isConfigMediaType(manifest.config.mediaType)) {
    throw new StrataError(
      'REGISTRY',
      `${refText} has a config of media type ${manifest.config.mediaType}, not an image config`,
      'this is not a container image (an artifact?)',
    );
  }
}

function checkConfig(
  config: ImageConfig,
  manifest: Manifest,
  refText: string,
  configDigest: string,
): Digest[] {
  const ids = config?.rootfs?.diff_ids;
  if (!Array.isArray(ids))
    throw new StrataError(
      'REGISTRY',
      `config ${configDigest} of ${refText} has no rootfs.diff_ids`,
      'the image is malformed',
    );
  if (ids.length !== manifest.layers.length) {
    throw new StrataError(
      'REGISTRY',
      `${refText} has ${manifest.layers.length} layers but its config ${configDigest} lists ${ids.length} diff_ids`,
      'the image is malformed',
    );
  }
  return ids.map((d, i) => parseDigest(d, `config ${configDigest} of ${refText}, diff_id ${i + 1}`));
}

/**
 * Foreign (non-distributable) layers are fetched from the registry only, never from the URLs the
 * manifest lists: a hostile manifest could point anywhere (and at anything on the local network).
 */
async function fetchForeignAware(
  store: Store,
  repo: RepositoryClient,
  layer: Descriptor,
  options: LayerFetchOptions,
): Promise<LayerFetchResult> {
  try {
    return await fetchLayer(store, repo, layer, options);
  } catch (e) {
    if (e instanceof StrataError && e.code === 'REF' && isForeignLayer(layer.mediaType)) {
      throw new StrataError(
        'REGISTRY',
        `${options.where} is a foreign layer that ${repo.where} does not hold; Strata does not fetch layers from the URLs a manifest lists${layer.urls?.length ? ` (${layer.urls.join(', ')})` : ''}`,
        'use an image without foreign layers, or copy it with its foreign layers into a registry first (skopeo copy --preserve-digests)',
      );
    }
    throw e;
  }
}

/** Resolves a reference to one image manifest (choosing from an index), verified. */
export async function resolveManifest(
  client: RegistryClient,
  ref: ImageRef,
  platform: Platform,
): Promise<{
  repo: RepositoryClient;
  fetched: FetchedManifest & { kind: 'manifest' };
  indexDigest?: Digest;
}> {
  const refText = formatImageRef(ref);
  const { value } = await firstEndpoint(
    pullEndpoints(client.config, ref.registry),
    refText,
    async (endpoint) => {
      const repo = client.repository(endpoint, ref.repository, ['pull']);
      const expected = ref.digest ? { digest: parseDigest(ref.digest, refText) } : undefined;
      return { repo, top: await fetchManifest(repo, manifestReference(ref), refText, expected) };
    },
  );
  const { repo, top } = value;
  if (top.kind === 'manifest') return { repo, fetched: top };
  const chosen = selectPlatform(top.index, platform, refText);
  if (chosen.mediaType && !isManifestMediaType(chosen.mediaType)) {
    throw new StrataError(
      'REGISTRY',
      `${refText}: the index entry for ${formatPlatform(platform)} is ${chosen.mediaType}, not an image manifest`,
      'nested indexes are not supported',
    );
  }
  const digest = parseDigest(chosen.digest, `index ${top.digest} of ${refText}`);
  const fetched = await fetchManifest(repo, digest.toString(), `${refText} (${formatPlatform(platform)})`, {
    digest,
    size: chosen.size,
  });
  if (fetched.kind !== 'manifest') {
    throw new StrataError(
      'REGISTRY',
      `${refText}: the index entry for ${formatPlatform(platform)} is itself an index`,
      'nested indexes are not supported',
    );
  }
  return { repo, fetched, indexDigest: top.digest };
}

export async function pullImage(refText: string, options: PullOptions): Promise<PullResult> {
  const ref = parseImageRef(refText);
  const canonical = formatImageRef(ref);
  const store = options.store;
  const client = options.client ?? new RegistryClient({ signal: options.signal });
  const platform = options.platform ?? hostPlatform();
  const name = options.name ?? canonical;
  return store.withShared(async () => {
    // A pull killed earlier (kill -9, power cut) left its temp files; their owner is gone, so no
    // one can be writing them. Clearing them here keeps the store clean without waiting for gc.
    // Downloads cut short (partial-*) stay: the pull that needs them continues from their bytes.
    for (const name of staleTempEntries(store))
      if (!name.startsWith('partial-')) removeTreeForce(path.join(store.paths.tmp, name));
    const { repo, fetched, indexDigest } = await resolveManifest(client, ref, platform);
    const manifest = fetched.manifest;
    checkLayers(manifest, canonical);
    const total = manifest.config.size + manifest.layers.reduce((n, l) => n + l.size, 0);
    const from = repo.endpoint.base;
    options.onEvent?.({
      type: 'resolved',
      ref: canonical,
      digest: fetched.digest.toString(),
      platform: formatPlatform(platform),
      from,
      blobs: manifest.layers.length + 1,
      bytes: total,
    });
    let downloaded = 0;
    let resumed = 0;

    // The config is fetched beside the layers (one round trip and one fsync fewer on the critical
    // path); each layer waits for it only before unpacking, since it names the diff_ids.
    const configDigest = parseDigest(manifest.config.digest, `manifest ${fetched.digest} of ${canonical}`);
    const configTask = (async () => {
      if (!store.hasBlob(configDigest)) {
        await fetchBlobToStore(store, repo, manifest.config, {
          where: `${canonical} config`,
          signal: options.signal,
          onProgress: byteProgress(options.onEvent, configDigest.toString(), 'config', manifest.config.size),
        });
        downloaded += manifest.config.size;
      } else
        options.onEvent?.({
          type: 'blob',
          digest: configDigest.toString(),
          role: 'config',
          done: manifest.config.size,
          total: manifest.config.size,
          skipped: 'present',
        });
      const config = await store.readJson<ImageConfig>(configDigest, `config of ${canonical}`);
      const diffIds = checkConfig(config, manifest, canonical, configDigest.toString());
      if (
        options.platform &&
        config.os &&
        config.architecture &&
        (config.os !== platform.os || config.architecture !== platform.architecture)
      ) {
        throw new StrataError(
          'REF',
          `${canonical} is an image for ${config.os}/${config.architecture}, not ${formatPlatform(platform)}`,
          'choose another image or platform',
        );
      }
      return { config, diffIds };
    })();
    configTask.catch(() => undefined); // awaited below; this only marks the rejection as handled
    // A single-platform image pulled for an explicit platform: check the config's platform before
    // fetching any layer, so a mismatch costs one small blob.
    if (options.platform && !indexDigest) await configTask;

    try {
      await forEachLimited(manifest.layers, options.concurrency ?? 3, async (layer, i) => {
        const where = `${canonical} layer ${i + 1}/${manifest.layers.length}`;
        const digest = parseDigest(layer.digest, where);
        const unpack = options.unpack !== false;
        const diffId = configTask.then((c) => c.diffIds[i]!);
        diffId.catch(() => undefined); // awaited by the layer; this only marks the rejection as handled
        let fetched = false;
        if (!store.hasBlob(digest)) {
          const r = await fetchForeignAware(store, repo, layer, {
            where,
            diffId,
            unpack,
            signal: options.signal,
            onProgress: byteProgress(options.onEvent, layer.digest, 'layer', layer.size),
            onUnpack: (d, done) => options.onEvent?.({ type: 'unpack', diffId: d.toString(), done }),
          });
          fetched = r.fetched;
          downloaded += r.bytes;
          resumed += r.resumedFrom;
        }
        if (!fetched) {
          options.onEvent?.({
            type: 'blob',
            digest: layer.digest,
            role: 'layer',
            done: layer.size,
            total: layer.size,
            skipped: 'present',
          });
        }
        // Stored before (by an earlier pull, an import, a build) or by another process meanwhile.
        const d = await diffId;
        if (unpack && !store.layerTree(d)) {
          options.onEvent?.({ type: 'unpack', diffId: d.toString(), done: false });
          await ensureLayerTree(store, { descriptor: layer, diffId: d }, { where, signal: options.signal });
          options.onEvent?.({ type: 'unpack', diffId: d.toString(), done: true });
        }
      });
    } catch (e) {
      // Never return (or fail) while the config download still writes into the store.
      await configTask.catch(() => undefined);
      throw e;
    }

    const { config, diffIds } = await configTask;
    // The manifest last, then the name: only a complete image is ever named.
    const descriptor = await store.putBytes(fetched.bytes, fetched.mediaType);
    await store.tagImage(name, descriptor);
    const pinned = formatImageRef({ ...ref, digest: fetched.digest.toString() });
    options.onEvent?.({ type: 'done', ref: pinned, digest: fetched.digest.toString(), bytes: downloaded });
    return {
      name,
      pinned,
      digest: fetched.digest.toString(),
      ...(indexDigest ? { indexDigest: indexDigest.toString() } : {}),
      platform: formatPlatform({
        os: config.os ?? platform.os,
        architecture: config.architecture ?? platform.architecture,
        ...(config.variant ? { variant: config.variant } : {}),
      }),
      configDigest: configDigest.toString(),
      layers: manifest.layers.map((l, i) => ({
        digest: l.digest,
        diffId: diffIds[i]!.toString(),
        size: l.size,
        mediaType: l.mediaType,
      })),
      from,
      bytesDownloaded: downloaded,
      bytesResumed: resumed,
    };
  });
}
