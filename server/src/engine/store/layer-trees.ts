// Unpacked layer trees: `layers/sha256/<diff_id>/`, made by reading the stored blob with the layer
// codec (every hostile check, digest and diff_id verified) and writing it with `strata-box apply`
// into a temp dir under tmp/, renamed into place only when apply and both digests succeeded. A
// tree that exists is complete. A sidecar `<diff_id>.json` records what apply wrote and a digest of
// the tree's listing (treeListing), for fsck.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
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
  /** What the tree looked like when it was complete (treeListing), for fsck; absent in older trees. */
  listing?: TreeListing;
}

/** Bump when what a listing line holds changes: fsck then falls back to the entry counts. */
const LISTING_FORMAT = 'strata-tree-listing-1';

export interface TreeListing {
  format: string;
  /** sha256 (hex) of the sorted listing lines. */
  digest: string;
  /** Entries below the root. */
  entries: number;
}

function listingLine(rel: string, full: string, st: fs.BigIntStats): string {
  const perm = (st.mode & 0o7777n).toString(8);
  const name = JSON.stringify(rel);
  if (st.isDirectory()) return `${name} d ${perm}`;
  if (st.isFile()) return `${name} f ${perm} ${st.size} ${st.mtimeNs}`;
  if (st.isSymbolicLink()) return `${name} l ${perm} ${JSON.stringify(fs.readlinkSync(full))}`;
  const kind = st.isCharacterDevice() ? 'c' : st.isBlockDevice() ? 'b' : st.isFIFO() ? 'p' : 's';
  return `${name} ${kind} ${perm} ${st.rdev}`;
}

/**
 * A digest of a tree's sorted listing: for every entry its path, type and permission bits; for
 * files also size and modification time (ns), for symlinks the target, for devices the numbers.
 * Owners are left out (an unprivileged unpack cannot set them; the blob keeps them) and so are
 * folders' times. Taken when a tree is complete, it lets fsck see a file changed (an edit moves
 * mtime), chmod-ed, removed or added, for one lstat per entry; a content change that also puts the
 * old mtime back needs `fsck --deep`, which hashes the files against the blob.
 */
export function treeListing(root: string): TreeListing {
  const lines: string[] = [];
  const walk = (dir: string, prefix: string) => {
    let names: string[];
    try {
      names = fs.readdirSync(dir);
    } catch {
      // A folder the layer made unreadable (mode 0311): listed as such, the same every time.
      lines.push(`${JSON.stringify(prefix)} unreadable`);
      return;
    }
    for (const name of names) {
      const full = path.join(dir, name);
      const rel = prefix ? `${prefix}/${name}` : name;
      const st = fs.lstatSync(full, { bigint: true });
      lines.push(listingLine(rel, full, st));
      if (st.isDirectory()) walk(full, rel);
    }
  };
  const top = fs.lstatSync(root, { bigint: true });
  walk(root, '');
  // Sorted by UTF-16 code units of the JSON-quoted path: any fixed order does, this one is cheap.
  lines.sort();
  const h = createHash('sha256').update(`${LISTING_FORMAT}\n${listingLine('.', root, top)}\n`);
  for (const l of lines) h.update(l + '\n');
  return { format: LISTING_FORMAT, digest: h.digest('hex'), entries: lines.length };
}

/** Whether a recorded listing can be compared with a new one (same format). */
export function listingComparable(l: TreeListing | undefined): l is TreeListing {
  return !!l && l.format === LISTING_FORMAT && typeof l.digest === 'string';
}

/**
 * Makes a complete tree in tmp/ the store's `layers/sha256/<diff_id>/`: records its listing (what
 * fsck compares) in the sidecar, written first, then renames the tree into place and syncs the
 * folder. The caller holds the layer's mutex and has checked that no tree is there yet.
 */
export function placeLayerTree(store: Store, tmp: string, meta: Omit<LayerTreeMeta, 'listing'>): void {
  const diffId = parseDigest(meta.diffId, 'layer tree');
  const full: LayerTreeMeta = { ...meta, listing: treeListing(tmp) };
  writeFileAtomic(store.paths.layerMeta(diffId), JSON.stringify(full, null, 2) + '\n');
  fs.renameSync(tmp, store.paths.layerTree(diffId));
  fsyncDir(store.paths.layers);
}

export interface EnsureLayerOptions {
  /** Names the layer in errors, e.g. "layer 3 of docker.io/library/debian:bookworm". */
  where?: string;
  signal?: AbortSignal;
  overlayXattrs?: 'user' | 'trusted' | 'both';
}

/**
 * Removes a tree that may hold read-only folders (layers often do) or, for a user with a
 * subordinate id range, files of those ids (a crashed build step's or run's scratch dir): those
 * are removed from inside a user namespace mapping the range (util-linux `unshare --map-auto`,
 * through newuidmap), as build/tmp.ts does. Throws when the tree is still there.
 */
export function removeTreeForce(dir: string): void {
  try {
    fs.rmSync(dir, { recursive: true, force: true });
  } catch (first) {
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
    try {
      fs.rmSync(dir, { recursive: true, force: true });
    } catch {
      if (process.getuid?.() === 0) throw first;
      try {
        execFileSync('unshare', ['--map-root-user', '--map-auto', 'rm', '-rf', '--', dir], {
          stdio: 'ignore',
        });
      } catch {
        /* reported below */
      }
      if (fs.existsSync(dir)) throw first;
    }
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
      placeLayerTree(store, tmp, {
        diffId: layer.diffId.toString(),
        digest: digest.toString(),
        mediaType: layer.descriptor.mediaType,
        summary,
      });
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
