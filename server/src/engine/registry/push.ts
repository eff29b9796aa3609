// `strata push IMAGE REF`: only what the registry lacks travels (DESIGN §6: change the top layer and
// only that layer, the config and the manifest are sent).
//   1. HEAD each blob (config and layers); present blobs are skipped.
//   2. A missing blob that another repository of the same registry already holds (one the store
//      pulled from or pushed to) is mounted: POST uploads/?mount=DIGEST&from=REPO, no bytes sent.
//   3. Otherwise a monolithic upload: POST uploads/ then PUT LOCATION?digest=DIGEST with the bytes.
//   4. The manifest, byte for byte as stored, PUT by digest and then by tag; the registry's
//      Docker-Content-Digest must equal ours.
// Pushes go to the registry itself, never to a mirror.
import { Transform } from 'node:stream';
import { parseDigest } from '../digest';
import { StrataError } from '../errors';
import { formatImageRef, parseImageRef, type ImageRef } from '../image/ref';
import type { Descriptor } from '../image/types';
import type { Store } from '../store/store';
import { RegistryClient, registryError, type RepositoryClient } from './client';
import { originEndpoint } from './config';
import { byteProgress, type TransferListener } from './events';
import { discard, type HttpResponse } from './transport';

export interface PushOptions {
  store: Store;
  client?: RegistryClient;
  signal?: AbortSignal;
  onEvent?: TransferListener;
  /** Repositories on the target registry to try mounting blobs from (besides those the store knows). */
  mountFrom?: string[];
  /** Blobs uploaded at once (default 3). */
  concurrency?: number;
}

export interface PushResult {
  /** The pushed reference pinned to the manifest digest. */
  pinned: string;
  digest: string;
  /** Blobs whose bytes were sent, mounted from another repository, or already there. */
  uploaded: string[];
  mounted: string[];
  present: string[];
  /** Bytes of blobs sent (the manifest not counted). */
  bytesUploaded: number;
}

/** Repositories on `registry` that, per the store's image names, hold each blob. */
async function mountSources(store: Store, registry: string, exclude: string): Promise<Map<string, string[]>> {
  const sources = new Map<string, string[]>();
  for (const { name } of store.listImages()) {
    let ref: ImageRef;
    try {
      ref = parseImageRef(name);
    } catch {
      continue; // a local name (strata/…), not a registry reference
    }
    if (ref.registry !== registry || ref.repository === exclude) continue;
    try {
      const image = await store.resolveImage(name);
      for (const d of [image.manifest.config.digest, ...image.manifest.layers.map((l) => l.digest)]) {
        const list = sources.get(d) ?? [];
        if (!list.includes(ref.repository)) list.push(ref.repository);
        sources.set(d, list);
      }
    } catch {
      continue; // an unreadable image is fsck's business, not push's
    }
  }
  return sources;
}

async function forEachLimited<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failed: unknown;
  const runner = async () => {
    while (failed === undefined && next < items.length) {
      try {
        await work(items[next++]!);
      } catch (e) {
        failed ??= e;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, runner));
  if (failed !== undefined) throw failed;
}

function locationOf(res: HttpResponse, repo: RepositoryClient, what: string): string {
  const location = res.headers.location;
  if (!location)
    throw new StrataError(
      'REGISTRY',
      `${repo.where} started an upload of ${what} without a Location`,
      'the registry misbehaves',
    );
  return new URL(location, repo.endpoint.base).toString();
}

type BlobOutcome = 'present' | 'mounted' | 'uploaded';

async function pushBlob(
  store: Store,
  repo: RepositoryClient,
  descriptor: Descriptor,
  role: 'config' | 'layer',
  sources: string[],
  onEvent: TransferListener | undefined,
): Promise<BlobOutcome> {
  const digest = parseDigest(descriptor.digest, `${role} of the image`);
  const head = await repo.request({ method: 'HEAD', path: `blobs/${digest}` });
  discard(head);
  if (head.status === 200) {
    onEvent?.({
      type: 'blob',
      digest: digest.toString(),
      role,
      done: descriptor.size,
      total: descriptor.size,
      skipped: 'present',
    });
    return 'present';
  }
  if (head.status !== 404) throw await registryError(head, `blob ${digest}`, repo.where);

  let location: string | undefined;
  for (const from of sources) {
    const res = await repo.request({
      method: 'POST',
      path: `blobs/uploads/?mount=${digest}&from=${encodeURIComponent(from)}`,
    });
    if (res.status === 201) {
      discard(res);
      onEvent?.({
        type: 'blob',
        digest: digest.toString(),
        role,
        done: descriptor.size,
        total: descriptor.size,
        skipped: 'mounted',
      });
      return 'mounted';
    }
    if (res.status === 202) {
      // The registry could not mount and opened an upload instead: use it.
      location = locationOf(res, repo, `blob ${digest}`);
      discard(res);
      break;
    }
    discard(res);
  }
  if (!location) {
    const res = await repo.request({ method: 'POST', path: 'blobs/uploads/' });
    if (res.status !== 202) throw await registryError(res, `an upload of blob ${digest}`, repo.where);
    location = locationOf(res, repo, `blob ${digest}`);
    discard(res);
  }
  const url = new URL(location);
  url.searchParams.set('digest', digest.toString());
  const progress = byteProgress(onEvent, digest.toString(), role, descriptor.size);
  const res = await repo.request({
    method: 'PUT',
    url: url.toString(),
    headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': String(descriptor.size) },
    body: () => {
      let sent = 0;
      return store.openBlob(digest).pipe(
        new Transform({
          transform(chunk: Buffer, _enc, done) {
            sent += chunk.length;
            progress(sent);
            done(null, chunk);
          },
        }),
      );
    },
  });
  if (res.status !== 201) throw await registryError(res, `the upload of blob ${digest}`, repo.where);
  const said = res.headers['docker-content-digest'];
  discard(res);
  if (typeof said === 'string' && said !== digest.toString()) {
    throw new StrataError(
      'DIGEST',
      `${repo.where} stored blob ${digest} as ${said}`,
      'the registry (or a proxy) altered the upload',
    );
  }
  return 'uploaded';
}

async function putManifest(
  repo: RepositoryClient,
  reference: string,
  bytes: Buffer,
  mediaType: string,
  digest: string,
): Promise<void> {
  const res = await repo.request({
    method: 'PUT',
    path: `manifests/${reference}`,
    headers: { 'Content-Type': mediaType },
    body: () => bytes,
  });
  if (res.status !== 201) throw await registryError(res, `the manifest ${reference}`, repo.where);
  const said = res.headers['docker-content-digest'];
  discard(res);
  if (typeof said === 'string' && said !== digest) {
    throw new StrataError(
      'DIGEST',
      `${repo.where} stored manifest ${digest} as ${said}`,
      'the registry (or a proxy) altered the manifest',
    );
  }
}

/** Pushes the store's image `image` (a name or a manifest digest) to `target`. */
export async function pushImage(image: string, target: string, options: PushOptions): Promise<PushResult> {
  const { store } = options;
  const ref = parseImageRef(target);
  const client = options.client ?? new RegistryClient({ signal: options.signal });
  return store.withShared(async () => {
    const resolved = await store.resolveImage(image);
    if (ref.digest && ref.digest !== resolved.digest.toString()) {
      throw new StrataError(
        'REF',
        `cannot push ${image} as ${target}: the image's digest is ${resolved.digest}`,
        "push by tag, or use the image's own digest",
      );
    }
    const endpoint = originEndpoint(client.config, ref.registry);
    const repo = client.repository(endpoint, ref.repository, ['pull', 'push']);
    const known = await mountSources(store, ref.registry, ref.repository);
    const extra = (options.mountFrom ?? []).filter((r) => r !== ref.repository);
    const sourcesOf = (d: string) => [...new Set([...(known.get(d) ?? []), ...extra])];
    // Ask for pull on every mount source up front, so one token covers the whole push.
    for (const r of new Set([...[...known.values()].flat(), ...extra])) repo.addScope(`repository:${r}:pull`);

    const manifestBytes = await store.readBlob(resolved.digest);
    const blobs: { d: Descriptor; role: 'config' | 'layer' }[] = [
      ...resolved.manifest.layers.map((d) => ({ d, role: 'layer' as const })),
      { d: resolved.manifest.config, role: 'config' as const },
    ];
    const total = blobs.reduce((n, b) => n + b.d.size, 0);
    options.onEvent?.({
      type: 'resolved',
      ref: formatImageRef(ref),
      digest: resolved.digest.toString(),
      from: store.home,
      blobs: blobs.length,
      bytes: total,
    });
    const result: PushResult = {
      pinned: '',
      digest: resolved.digest.toString(),
      uploaded: [],
      mounted: [],
      present: [],
      bytesUploaded: 0,
    };
    await forEachLimited(blobs, options.concurrency ?? 3, async ({ d, role }) => {
      const outcome = await pushBlob(store, repo, d, role, sourcesOf(d.digest), options.onEvent);
      if (outcome === 'uploaded') {
        result.uploaded.push(d.digest);
        result.bytesUploaded += d.size;
      } else if (outcome === 'mounted') result.mounted.push(d.digest);
      else result.present.push(d.digest);
    });
    const mediaType = resolved.manifest.mediaType ?? resolved.descriptor.mediaType;
    await putManifest(repo, resolved.digest.toString(), manifestBytes, mediaType, resolved.digest.toString());
    if (ref.tag !== undefined && !ref.digest)
      await putManifest(repo, ref.tag, manifestBytes, mediaType, resolved.digest.toString());
    result.pinned = formatImageRef({ ...ref, digest: resolved.digest.toString() });
    options.onEvent?.({
      type: 'done',
      ref: result.pinned,
      digest: result.digest,
      bytes: result.bytesUploaded,
    });
    return result;
  });
}
