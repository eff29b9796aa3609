// The build engine's seam to the parts it integrates: the layer codec and store (unpacked trees,
// the deterministic layer writer, workspace files for copy steps), the sandbox (scan of an upper
// dir, containers). Everything the build needs from them goes through this one object, so that a
// change in one of those APIs is absorbed here.
import * as fs from 'node:fs';
import * as os from 'node:os';
import { Readable } from 'node:stream';
import { parseDigest } from '../digest';
import type { Descriptor } from '../image/types';
import { layerCompression } from '../image/media-types';
import { readLayer } from '../layer/read';
import { applyEntries } from '../sandbox/apply';
import { scanUpperDir, type IdMapping } from '../sandbox/scan';
import type { Store } from '../store/store';
import { runContainer } from './container';
import { withoutVolatile } from './normalize';
import { removeTree } from './tmp';
import { copyContentDigest, workspaceEntries, writeLayer } from './layer-glue';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';

export interface MadeLayer {
  descriptor: Descriptor;
  diffId: string;
  tree: string;
}

/** The ids a rootless container maps, so that scan reports owners as the container saw them. */
export function containerIdMaps(): { uidMap?: IdMapping[]; gidMap?: IdMapping[] } {
  const uid = process.getuid?.() ?? 0;
  const gid = process.getgid?.() ?? 0;
  if (uid === 0) return {};
  const user = os.userInfo().username;
  const range = (file: string): { start: number; count: number } | undefined => {
    try {
      for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
        const [name, start, count] = line.split(':');
        if ((name === user || name === String(uid)) && start && count)
          return { start: Number(start), count: Number(count) };
      }
    } catch {
      /* no file: single id */
    }
    return undefined;
  };
  const hasHelpers = ['/usr/bin/newuidmap', '/usr/bin/newgidmap'].every((p) => fs.existsSync(p));
  const su = hasHelpers ? range('/etc/subuid') : undefined;
  const sg = hasHelpers ? range('/etc/subgid') : undefined;
  return {
    uidMap: [
      { inside: 0, outside: uid, count: 1 },
      ...(su ? [{ inside: 1, outside: su.start, count: Math.min(su.count, 65535) }] : []),
    ],
    gidMap: [
      { inside: 0, outside: gid, count: 1 },
      ...(sg ? [{ inside: 1, outside: sg.start, count: Math.min(sg.count, 65535) }] : []),
    ],
  };
}

/** Unpacks a stored layer into layers/sha256/<diff_id>/ unless it is there; returns the tree. */
async function ensureTree(
  store: Store,
  descriptor: Descriptor,
  diffId: string,
  where: string,
): Promise<string> {
  const id = parseDigest(diffId, where);
  const existing = store.layerTree(id);
  if (existing) return existing;
  const release = await store.mutex(`tree-${id.hex}`);
  try {
    const again = store.layerTree(id);
    if (again) return again;
    const tmp = path.join(store.paths.tmp, `tree-${id.hex.slice(0, 16)}-${randomBytes(4).toString('hex')}`);
    fs.mkdirSync(tmp);
    try {
      const compression = layerCompression(descriptor.mediaType) ?? 'gzip';
      const digest = parseDigest(descriptor.digest, where);
      await applyEntries(
        tmp,
        readLayer(Readable.from(store.openBlob(digest)), { compression, where, digest, diffId: id }),
        { where },
      );
      fs.mkdirSync(path.dirname(store.paths.layerTree(id)), { recursive: true });
      fs.renameSync(tmp, store.paths.layerTree(id));
    } catch (e) {
      removeTree(tmp);
      throw e;
    }
    return store.paths.layerTree(id);
  } finally {
    release();
  }
}

/** Copies an image (manifest, config, layers) between stores, each blob checked on the way in. */
async function copyImage(from: Store, to: Store, manifestDigest: string): Promise<boolean> {
  const md = parseDigest(manifestDigest, 'image to copy');
  if (!from.hasBlob(md)) return false;
  const image = await from.resolveImage(manifestDigest);
  const blobs = [
    image.configDigest,
    ...image.layers.map((l) => parseDigest(l.descriptor.digest, 'layer to copy')),
  ];
  for (const d of blobs) {
    if (!from.hasBlob(d)) return false;
  }
  for (const d of [...blobs, md]) {
    if (!to.hasBlob(d))
      await to.ingestBlob(from.openBlob(d), { expected: d, where: `${d} copied from ${from.home}` });
  }
  return true;
}

export const ports = {
  ensureTree,
  copyImage,
  runContainer,
  async layerFromUpper(
    store: Store,
    upper: string,
    options: { epoch: number; where: string; signal?: AbortSignal },
  ): Promise<MadeLayer> {
    const entries = withoutVolatile(
      scanUpperDir(upper, { signal: options.signal, where: options.where, ...containerIdMaps() }),
    );
    const written = await writeLayer(store, entries, { epoch: options.epoch, signal: options.signal });
    const tree = await ensureTree(store, written.descriptor, written.diffId, options.where);
    return { ...written, tree };
  },
  async layerFromCopy(
    store: Store,
    options: {
      src: string;
      dest: string;
      specDir: string;
      epoch: number;
      where: string;
      signal?: AbortSignal;
    },
  ): Promise<MadeLayer> {
    const entries = workspaceEntries(options.src, options.dest, options.specDir, options.epoch);
    const written = await writeLayer(store, entries, { epoch: options.epoch, signal: options.signal });
    const tree = await ensureTree(store, written.descriptor, written.diffId, options.where);
    return { ...written, tree };
  },
  copyContentDigest: async (src: string, specDir: string): Promise<string> => copyContentDigest(src, specDir),
};
