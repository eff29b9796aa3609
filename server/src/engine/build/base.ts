// The base image of a build: scratch, or an image from a registry through the store. A ref pinned
// by the lock (or written with @sha256) that the store already holds needs no network at all, which
// is what keeps a no-change rebuild fast and offline.
import { parseDigest } from '../digest';
import { formatImageRef, parseImageRef } from '../image/ref';
import type { Descriptor, ImageConfig } from '../image/types';
import { parsePlatform } from '../registry/platform';
import type { Store } from '../store/store';
import type { BuildEvent } from './events';
import { loadPull } from './lazy';
import { ports } from './ports';

export interface BaseLayer {
  descriptor: Descriptor;
  diffId: string;
  tree: string;
}

export interface BaseImage {
  /** As written in the spec. */
  ref: string;
  /** Manifest digest; undefined for scratch. */
  digest?: string;
  config?: ImageConfig;
  layers: BaseLayer[];
}

export interface BaseRequest {
  store: Store;
  from: string;
  platform: string;
  /** The manifest digest the lock pins, if any. */
  pinned?: string;
  signal?: AbortSignal;
  onEvent: (e: BuildEvent) => void;
  /** Another store to copy the base from instead of the network (verify's throwaway store). */
  seedFrom?: Store;
}

async function fromStore(store: Store, digest: string, ref: string): Promise<BaseImage | undefined> {
  if (!store.hasBlob(parseDigest(digest, ref))) return undefined;
  const image = await store.resolveImage(digest);
  if (!store.hasBlob(image.configDigest)) return undefined;
  const layers: BaseLayer[] = [];
  for (const l of image.layers) {
    if (!store.hasBlob(parseDigest(l.descriptor.digest, ref))) return undefined;
    const tree = await ports.ensureTree(
      store,
      l.descriptor,
      l.diffId.toString(),
      `${ref} layer ${layers.length + 1}`,
    );
    layers.push({ descriptor: l.descriptor, diffId: l.diffId.toString(), tree });
  }
  return { ref, digest: image.digest.toString(), config: image.config, layers };
}

export async function resolveBase(req: BaseRequest): Promise<BaseImage> {
  if (req.from === 'scratch') return { ref: 'scratch', layers: [] };
  const ref = parseImageRef(req.from);
  const pinned = req.pinned ?? ref.digest;
  if (pinned) {
    const local = await fromStore(req.store, pinned, req.from);
    if (local) return local;
    if (req.seedFrom && (await ports.copyImage(req.seedFrom, req.store, pinned))) {
      const seeded = await fromStore(req.store, pinned, req.from);
      if (seeded) return seeded;
    }
  }
  const refText = pinned
    ? formatImageRef({ registry: ref.registry, repository: ref.repository, digest: pinned })
    : req.from;
  let bytes = 0;
  let total: number | undefined;
  const done = new Map<string, number>();
  // Loaded when a pull is needed (lazy.ts): not evaluated on a cached build.
  const result = await loadPull().pullImage(refText, {
    store: req.store,
    platform: parsePlatform(req.platform),
    signal: req.signal,
    unpack: ports.pullUnpacks(),
    onEvent: (e) => {
      if (e.type === 'resolved') total = e.bytes;
      if (e.type === 'blob') {
        done.set(e.digest, e.done);
        bytes = [...done.values()].reduce((a, b) => a + b, 0);
        req.onEvent({ type: 'pull', ref: req.from, bytes, ...(total !== undefined ? { total } : {}) });
      }
    },
  });
  const image = await fromStore(req.store, result.digest, req.from);
  if (!image) throw new Error(`pulled ${refText} but the store does not hold all of it`);
  return image;
}
