// The build engine's seam to the parts it integrates: the layer codec and store (writer, workspace
// files for copy steps, unpacked trees), the sandbox (scan of an upper dir, containers). Everything
// the build needs from them goes through this one object, so that a change in one of those APIs is
// absorbed here.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseDigest } from '../digest';
import { layerCompression } from '../image/media-types';
import type { Descriptor } from '../image/types';
import { readLayer } from '../layer/read';
import { workspaceEntries } from '../layer/workspace';
import { diffIdOf, writeLayer } from '../layer/write';
import { applyEntries, type ApplySummary } from '../sandbox/apply';
import { scanUpperDir } from '../sandbox/scan';
import { tempName, writeFileAtomic } from '../store/fsutil';
import { ensureLayerTree, treeListing, type LayerTreeMeta } from '../store/layer-trees';
import type { Store } from '../store/store';
import { runContainer, type ContainerRequest, type ContainerResult } from './container';
import { withoutVolatile } from './normalize';
import { removeTree } from './tmp';

export interface MadeLayer {
  descriptor: Descriptor;
  diffId: string;
  tree: string;
}

const asRoot = () => process.getuid?.() === 0;

/**
 * How a build step's upper dir is read. Every user's steps run with one mapped id (runStepContainer),
 * so the upper dir holds only the invoking user's files; an unprivileged scan still runs inside a
 * user namespace where that user is root (strata-box scan --userns): a step may leave a file or
 * folder of mode 000 (`chmod 000 /locked`), which only root of a namespace owning it may read. The
 * kernel maps the user back to 0. Root reads the dir directly, where owners are already 0. The
 * namespace maps the user alone, as the step did (--single-id): a range user's scan needs no
 * newuidmap then.
 */
function stepScanOptions(): { userns?: boolean; singleId?: boolean } {
  return asRoot() ? {} : { userns: true, singleId: true };
}

/**
 * A build step's container: container root is the invoking user alone, for root (0 -> 0), a user
 * without a subuid range and a user with one alike (strata-box run --single-id), with --fakeroot,
 * so a step that chowns, `su`s or lets apt drop to `_apt` behaves the same whoever builds
 * (build/README.md "Same layers for every user"). Workloads keep the range (engine/run).
 */
function runStepContainer(req: ContainerRequest): Promise<ContainerResult> {
  return runContainer({ ...req, fakeroot: true, singleId: true });
}

/**
 * The ownership rule of every layer Strata makes (build/README.md "Same layers for every user"):
 * owner and group 0. Step containers map one id (runStepContainer), so their upper dirs already hold
 * nothing else (stepScanOptions); the rule still applies to every scan, so a layer's owners never depend on how a
 * file got into the upper dir (a container of an older strata-box, a mapping change). Unpacked
 * trees are owned by 0 for the same reason: every user's step sees the same lower layers.
 */
async function* ownedByRoot<T extends { entry: { uid: number; gid: number } }>(
  entries: AsyncIterable<T>,
): AsyncGenerator<T> {
  for await (const e of entries) yield { ...e, entry: { ...e.entry, uid: 0, gid: 0 } };
}

/** Makes layers/sha256/<diff_id>/ with `fill` in a temp dir, renamed into place when complete. */
async function installTree(
  store: Store,
  diffId: string,
  digest: string,
  where: string,
  fill: (dir: string) => Promise<ApplySummary>,
): Promise<string> {
  const id = parseDigest(diffId, where);
  const existing = store.layerTree(id);
  if (existing) return existing;
  const release = await store.mutex(`layer-${id.hex}`);
  try {
    const again = store.layerTree(id);
    if (again) return again;
    const tmp = path.join(store.paths.tmp, tempName('tree'));
    fs.mkdirSync(tmp, { mode: 0o755 });
    try {
      const summary = await fill(tmp);
      const meta: LayerTreeMeta = {
        diffId,
        digest,
        mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
        summary,
        listing: treeListing(tmp),
      };
      writeFileAtomic(store.paths.layerMeta(id), JSON.stringify(meta, null, 2) + '\n');
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

/** The unpacked tree of a stored layer (unpacked now when missing). */
async function ensureTree(
  store: Store,
  descriptor: Descriptor,
  diffId: string,
  where: string,
  signal?: AbortSignal,
): Promise<string> {
  const id = parseDigest(diffId, where);
  if (!asRoot()) return ensureLayerTree(store, { descriptor, diffId: id }, { where, signal });
  return installTree(store, diffId, descriptor.digest, where, (dir) => {
    const digest = parseDigest(descriptor.digest, where);
    const compression = layerCompression(descriptor.mediaType) ?? 'gzip';
    const entries = readLayer(store.openBlob(digest), { compression, where, digest, diffId: id });
    return applyEntries(dir, ownedByRoot(entries), { where, signal });
  });
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
  if (!blobs.every((d) => from.hasBlob(d))) return false;
  for (const d of [...blobs, md]) {
    if (!to.hasBlob(d))
      await to.ingestBlob(from.openBlob(d), { expected: d, where: `${d} copied from ${from.home}` });
  }
  return true;
}

export const ports = {
  ensureTree,
  copyImage,
  /** Runs a build step (workloads call container.ts's runContainer themselves, with the range). */
  runContainer: runStepContainer,
  /** Whether a pull may unpack trees itself (as root the build unpacks them, see ownedByRoot). */
  pullUnpacks: () => !asRoot(),

  async layerFromUpper(
    store: Store,
    upper: string,
    options: { epoch: number; where: string; signal?: AbortSignal },
  ): Promise<MadeLayer> {
    const scan = () =>
      ownedByRoot(
        withoutVolatile(
          scanUpperDir(upper, { signal: options.signal, where: options.where, ...stepScanOptions() }),
        ),
      );
    const written = await writeLayer(store, scan(), {
      epoch: options.epoch,
      times: 'clamp',
      where: options.where,
      signal: options.signal,
    });
    const diffId = written.diffId.toString();
    // The tree is made from a second scan rather than by reading the new blob back: the upper dir
    // is still there, and scanning costs less than decompressing and checking the layer.
    const tree = await installTree(store, diffId, written.descriptor.digest, options.where, (dir) =>
      applyEntries(dir, scan(), { where: options.where, signal: options.signal }),
    );
    return { descriptor: written.descriptor, diffId, tree };
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
    const copy = {
      root: options.specDir,
      src: path.relative(options.specDir, options.src) || '.',
      dest: options.dest,
      epoch: options.epoch,
    };
    const written = await writeLayer(store, workspaceEntries(copy), {
      epoch: options.epoch,
      times: 'set',
      where: options.where,
      signal: options.signal,
    });
    const diffId = written.diffId.toString();
    const tree = await ensureTree(store, written.descriptor, diffId, options.where, options.signal);
    return { descriptor: written.descriptor, diffId, tree };
  },

  /** What a copy step copies, as one digest: the uncompressed tar its files make. */
  async copyContentDigest(src: string, specDir: string): Promise<string> {
    const copy = { root: specDir, src: path.relative(specDir, src) || '.', dest: '/', epoch: 0 };
    return (await diffIdOf(workspaceEntries(copy), { epoch: 0, times: 'set' })).diffId.toString();
  },
};
