// The store API (DESIGN §5): an OCI image layout under $STRATA_HOME/oci, unpacked layer trees under
// $STRATA_HOME/layers, the build cache, run records, and the locks that let several Strata processes
// share it. See server/src/engine/README.md for how the registry and build engines use it.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { Digest, digestOf, parseDigest } from '../digest';
import { StrataError } from '../errors';
import { MediaType, isIndexMediaType, isManifestMediaType } from '../image/media-types';
import type { Descriptor, ImageConfig, ImageIndex, LayerInfo, Manifest } from '../image/types';
import { IngestOptions, IngestResult, ingestBlob } from './blobs';
import { readJsonIfExists, tempName, writeFileAtomic } from './fsutil';
import { checkImageName, nameOf, readIndex, withName, withoutName, writeIndex } from './image-index';
import { lockMutex, Release, StoreLock, WaitOptions } from './lock';
import { defaultStrataHome, StorePaths } from './paths';

/** What `resolveImage` returns: the manifest, its config and its layers, all read and checked. */
export interface ResolvedImage {
  name: string;
  descriptor: Descriptor;
  digest: Digest;
  manifest: Manifest;
  config: ImageConfig;
  configDigest: Digest;
  layers: LayerInfo[];
}

export interface NamedImage {
  name: string;
  descriptor: Descriptor;
}

/** A build cache entry: the cache key maps to a layer (and anything else the build wants kept). */
export interface CacheEntry {
  layer: Descriptor;
  diffId: string;
  /** Other digests this entry keeps alive (e.g. a config). */
  refs?: string[];
  [key: string]: unknown;
}

const OCI_LAYOUT = JSON.stringify({ imageLayoutVersion: '1.0.0' });

export class Store {
  readonly paths: StorePaths;
  private readonly rw: StoreLock;

  constructor(home: string) {
    this.paths = new StorePaths(home);
    this.rw = new StoreLock(this.paths.locks);
  }

  get home(): string {
    return this.paths.home;
  }

  /** Creates the folders and the OCI layout files when missing (idempotent, safe concurrently). */
  init(): void {
    const p = this.paths;
    for (const dir of [p.blobs, p.layers, p.cache, p.runs, p.tmp, p.locks])
      fs.mkdirSync(dir, { recursive: true });
    if (!fs.existsSync(p.ociLayout)) writeFileAtomic(p.ociLayout, OCI_LAYOUT);
    if (!fs.existsSync(p.indexJson)) {
      try {
        fs.writeFileSync(
          p.indexJson,
          JSON.stringify({ schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: [] }, null, 2) + '\n',
          {
            flag: 'wx',
          },
        );
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
    }
  }

  // ---- locks ---------------------------------------------------------------------------------

  /** Shared lock: held by pulls, builds, imports (anything that adds content and then names it). */
  shared(options?: WaitOptions): Promise<Release> {
    return this.rw.shared(options);
  }

  /** Exclusive lock: held by gc and fsck --repair. Waits for shared holders to finish. */
  exclusive(options?: WaitOptions): Promise<Release> {
    return this.rw.exclusive(options);
  }

  async withShared<T>(fn: () => Promise<T>, options?: WaitOptions): Promise<T> {
    const release = await this.shared(options);
    try {
      return await fn();
    } finally {
      release();
    }
  }

  async withExclusive<T>(fn: () => Promise<T>, options?: WaitOptions): Promise<T> {
    const release = await this.exclusive(options);
    try {
      return await fn();
    } finally {
      release();
    }
  }

  /** A mutex named `name` (e.g. one per layer tree being unpacked). */
  mutex(name: string, options?: WaitOptions): Promise<Release> {
    if (!/^[A-Za-z0-9._-]+$/.test(name)) throw new StrataError('INTERNAL', `bad mutex name ${name}`);
    return lockMutex(path.join(this.paths.locks, `${name}.lock`), name, options);
  }

  /**
   * Keeps `roots` (manifest, config, blob digests or layer diff_ids) alive against gc while the
   * calling process runs, e.g. for a running container. Released by calling the result, or when
   * the process dies.
   */
  async lease(roots: Digest[]): Promise<Release> {
    return this.withShared(async () => {
      const file = path.join(this.paths.locks, `lease-${tempName('r')}.json`);
      writeFileAtomic(file, JSON.stringify({ pid: process.pid, roots: roots.map(String) }));
      return () => fs.rmSync(file, { force: true });
    });
  }

  // ---- blobs ---------------------------------------------------------------------------------

  hasBlob(d: Digest): boolean {
    return fs.existsSync(this.paths.blob(d));
  }

  blobPath(d: Digest): string {
    return this.paths.blob(d);
  }

  blobSize(d: Digest): number | undefined {
    try {
      return fs.statSync(this.paths.blob(d)).size;
    } catch {
      return undefined;
    }
  }

  async readBlob(d: Digest): Promise<Buffer> {
    try {
      return await fs.promises.readFile(this.paths.blob(d));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new StrataError(
          'STORE',
          `blob ${d} is not in the store ${this.home}`,
          "pull the image again, or run 'strata fsck'",
        );
      }
      throw e;
    }
  }

  openBlob(d: Digest): Readable {
    if (!this.hasBlob(d))
      throw new StrataError(
        'STORE',
        `blob ${d} is not in the store ${this.home}`,
        "pull the image again, or run 'strata fsck'",
      );
    return fs.createReadStream(this.paths.blob(d), { highWaterMark: 1 << 20 });
  }

  /**
   * Streams `source` into the store atomically (temp file, hash, fsync, verify size and digest,
   * rename, fsync folder). With `expected`, a mismatch throws and stores nothing.
   */
  ingestBlob(
    source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
    options: IngestOptions = {},
  ): Promise<IngestResult> {
    return ingestBlob(this.paths, source, options);
  }

  /** Stores bytes (a manifest, a config) and returns their descriptor. */
  async putBytes(data: Uint8Array | string, mediaType: string): Promise<Descriptor> {
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    const r = await this.ingestBlob([bytes], { expected: digestOf(bytes), size: bytes.length });
    return { mediaType, digest: r.digest.toString(), size: r.size };
  }

  /** Stores a JSON document exactly as serialised here (no trailing newline) and returns its descriptor. */
  putJson(value: unknown, mediaType: string): Promise<Descriptor> {
    return this.putBytes(JSON.stringify(value), mediaType);
  }

  async readJson<T>(d: Digest, what: string): Promise<T> {
    const bytes = await this.readBlob(d);
    try {
      return JSON.parse(bytes.toString('utf8')) as T;
    } catch (e) {
      throw new StrataError('STORE', `${what} ${d} is not valid JSON`, "run 'strata fsck'", { cause: e });
    }
  }

  // ---- names ---------------------------------------------------------------------------------

  /** Names a stored manifest (or index) in index.json. The manifest blob must already be stored. */
  async tagImage(name: string, descriptor: Descriptor): Promise<void> {
    checkImageName(name);
    const d = parseDigest(descriptor.digest, `descriptor for ${name}`);
    if (!this.hasBlob(d)) throw new StrataError('STORE', `cannot name ${name}: manifest ${d} is not stored`);
    const release = await this.mutex('index');
    try {
      writeIndex(
        this.paths,
        withName(readIndex(this.paths), name, {
          mediaType: descriptor.mediaType,
          digest: d.toString(),
          size: descriptor.size,
          ...(descriptor.platform ? { platform: descriptor.platform } : {}),
        }),
      );
    } finally {
      release();
    }
  }

  /** Removes a name; the content stays until `gc`. Returns false when the name was not there. */
  async untagImage(name: string): Promise<boolean> {
    const release = await this.mutex('index');
    try {
      const index = readIndex(this.paths);
      const next = withoutName(index, name);
      if (next.manifests.length === index.manifests.length) return false;
      writeIndex(this.paths, next);
      return true;
    } finally {
      release();
    }
  }

  index(): ImageIndex {
    return readIndex(this.paths);
  }

  listImages(): NamedImage[] {
    const out: NamedImage[] = [];
    for (const m of this.index().manifests) {
      const name = nameOf(m);
      if (name) out.push({ name, descriptor: m });
    }
    return out;
  }

  /** The descriptor named `name`, or undefined. */
  findImage(name: string): Descriptor | undefined {
    return this.index().manifests.find((m) => nameOf(m) === name);
  }

  /** Reads the image named `name` (or a manifest digest): manifest, config and layers, checked. */
  async resolveImage(nameOrDigest: string): Promise<ResolvedImage> {
    let descriptor: Descriptor | undefined;
    if (nameOrDigest.startsWith('sha256:')) {
      const d = parseDigest(nameOrDigest, 'image reference');
      descriptor = this.index().manifests.find((m) => m.digest === d.toString()) ?? {
        mediaType: MediaType.OciManifest,
        digest: d.toString(),
        size: this.blobSize(d) ?? 0,
      };
    } else {
      descriptor = this.findImage(nameOrDigest);
    }
    if (!descriptor) {
      throw new StrataError(
        'REF',
        `no image named ${nameOrDigest} in ${this.home}`,
        "see 'strata images' for the names, or 'strata pull REF'",
      );
    }
    return this.readImage(nameOrDigest, descriptor);
  }

  /** Reads a manifest by descriptor (no name lookup). */
  async readImage(name: string, descriptor: Descriptor): Promise<ResolvedImage> {
    const digest = parseDigest(descriptor.digest, `index.json entry ${name}`);
    if (isIndexMediaType(descriptor.mediaType)) {
      throw new StrataError(
        'REF',
        `${name} names an image index, not a single-platform manifest`,
        'pull it for one platform',
      );
    }
    const manifest = await this.readJson<Manifest>(digest, `manifest of ${name}`);
    if (
      manifest.schemaVersion !== 2 ||
      !manifest.config ||
      !Array.isArray(manifest.layers) ||
      (manifest.mediaType && !isManifestMediaType(manifest.mediaType))
    ) {
      throw new StrataError('STORE', `manifest ${digest} of ${name} is not an image manifest`);
    }
    const configDigest = parseDigest(manifest.config.digest, `manifest ${digest} config`);
    const config = await this.readJson<ImageConfig>(configDigest, `config of ${name}`);
    const diffIds = config.rootfs?.diff_ids ?? [];
    if (diffIds.length !== manifest.layers.length) {
      throw new StrataError(
        'STORE',
        `image ${name}: ${manifest.layers.length} layers but ${diffIds.length} diff_ids in its config`,
      );
    }
    const layers = manifest.layers.map((descriptor, i) => {
      parseDigest(descriptor.digest, `manifest ${digest} layer ${i}`);
      return { descriptor, diffId: parseDigest(diffIds[i], `config ${configDigest} diff_id ${i}`) };
    });
    return { name, descriptor, digest, manifest, config, configDigest, layers };
  }

  // ---- layer trees ---------------------------------------------------------------------------

  /** The path of the unpacked tree of `diffId`, or undefined when it is not unpacked. */
  layerTree(diffId: Digest): string | undefined {
    const dir = this.paths.layerTree(diffId);
    return fs.existsSync(dir) ? dir : undefined;
  }

  // ---- build cache ---------------------------------------------------------------------------

  getCacheEntry(key: Digest): CacheEntry | undefined {
    return readJsonIfExists<CacheEntry>(path.join(this.paths.cache, `${key.hex}.json`));
  }

  putCacheEntry(key: Digest, entry: CacheEntry): void {
    parseDigest(entry.layer.digest, 'cache entry layer');
    parseDigest(entry.diffId, 'cache entry diff_id');
    writeFileAtomic(path.join(this.paths.cache, `${key.hex}.json`), JSON.stringify(entry));
  }
}

/** Opens (and creates when missing) the store at `home`, default $STRATA_HOME (DESIGN §5). */
export function openStore(home?: string): Store {
  const store = new Store(home ? path.resolve(home) : defaultStrataHome());
  store.init();
  return store;
}
