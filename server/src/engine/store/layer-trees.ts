// Unpacked layer trees: `layers/sha256/<diff_id>/`, made by reading the stored blob with the layer
// codec (every hostile check, digest and diff_id verified) and writing it with `strata-box apply`
// into a temp dir under tmp/, renamed into place only when apply and both digests succeeded. A
// tree that exists is complete. A sidecar `<diff_id>.json` records what apply wrote, for fsck.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Digest } from '../digest';
import { StrataError } from '../errors';
import { layerCompression } from '../image/media-types';
import type { LayerInfo } from '../image/types';
import { readLayer } from '../layer/read';
import { applyEntries, ApplySummary } from '../sandbox/apply';
import { parseDigest } from '../digest';
import { fsyncDir, tempName, writeFileAtomic } from './fsutil';
import type { Store } from './store';

export interface LayerTreeMeta {
  diffId: string;
  digest: string;
  mediaType: string;
  summary: ApplySummary;
}

export interface EnsureLayerOptions {
  /** Names the layer in errors, e.g. "layer 3 of docker.io/library/debian:bookworm". */
  where?: string;
  signal?: AbortSignal;
  overlayXattrs?: 'user' | 'trusted' | 'both';
}

/** Removes a tree that may hold read-only folders (layers often do). */
export function removeTreeForce(dir: string): void {
  try {
    fs.rmSync(dir, { recursive: true, force: true });
  } catch {
    const fix = (d: string) => {
      try {
        fs.chmodSync(d, 0o700);
        for (const e of fs.readdirSync(d, { withFileTypes: true }))
          if (e.isDirectory()) fix(path.join(d, e.name));
      } catch {
        /* best effort; rmSync reports what remains */
      }
    };
    fix(dir);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Returns the path of the unpacked tree of `layer`, unpacking the stored blob first when needed.
 * Safe to call from several processes at once (a per-layer mutex; the rename decides anyway).
 */
export async function ensureLayerTree(
  store: Store,
  layer: LayerInfo,
  options: EnsureLayerOptions = {},
): Promise<string> {
  const final = store.paths.layerTree(layer.diffId);
  if (fs.existsSync(final)) return final;
  const digest = parseDigest(layer.descriptor.digest, 'layer descriptor');
  const where = options.where ?? `layer ${digest}`;
  const compression = layerCompression(layer.descriptor.mediaType);
  if (!compression) {
    throw new StrataError(
      'LAYER',
      `${where} has media type ${layer.descriptor.mediaType}, which is not a layer`,
      'the manifest is malformed',
    );
  }
  const release = await store.mutex(`layer-${layer.diffId.hex}`, { signal: options.signal });
  try {
    if (fs.existsSync(final)) return final;
    const tmp = path.join(store.paths.tmp, tempName('layer'));
    fs.mkdirSync(tmp, { mode: 0o755 });
    try {
      const entries = readLayer(store.openBlob(digest), { compression, where, digest, diffId: layer.diffId });
      const summary = await applyEntries(tmp, entries, {
        where,
        signal: options.signal,
        overlayXattrs: options.overlayXattrs,
      });
      const meta: LayerTreeMeta = {
        diffId: layer.diffId.toString(),
        digest: digest.toString(),
        mediaType: layer.descriptor.mediaType,
        summary,
      };
      writeFileAtomic(store.paths.layerMeta(layer.diffId), JSON.stringify(meta, null, 2) + '\n');
      fs.renameSync(tmp, final);
      fsyncDir(store.paths.layers);
    } finally {
      if (fs.existsSync(tmp)) removeTreeForce(tmp);
    }
    return final;
  } finally {
    release();
  }
}

/** Unpacks every layer of an image (in order) and returns the trees, lowest first. */
export async function ensureImageTrees(
  store: Store,
  layers: LayerInfo[],
  options: EnsureLayerOptions = {},
): Promise<string[]> {
  const out: string[] = [];
  for (const [i, layer] of layers.entries()) {
    out.push(
      await ensureLayerTree(store, layer, {
        ...options,
        where: `layer ${i + 1}/${layers.length} (${layer.descriptor.digest})${options.where ? ` of ${options.where}` : ''}`,
      }),
    );
  }
  return out;
}

export function readLayerMeta(store: Store, diffId: Digest): LayerTreeMeta | undefined {
  try {
    return JSON.parse(fs.readFileSync(store.paths.layerMeta(diffId), 'utf8')) as LayerTreeMeta;
  } catch {
    return undefined;
  }
}
