// What the store's roots reach: named images (index.json), build cache entries and live leases
// (running containers), followed through indexes, manifests and configs to blobs and layer trees.
// Shared by gc (which deletes the rest) and fsck (which reports broken references).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isDigest, parseDigest } from '../digest';
import { isIndexMediaType } from '../image/media-types';
import type { Descriptor, ImageConfig, ImageIndex, Manifest } from '../image/types';
import { nameOf, readIndex } from './image-index';
import { liveLeaseRoots } from './lock';
import type { CacheEntry, Store } from './store';

export interface Problem {
  /** What is broken, in words, naming the image, blob or file. */
  message: string;
  /** What --repair removes to fix it. */
  repair?: { kind: 'name' | 'cache' | 'blob' | 'tree' | 'temp'; id: string };
}

export interface Reach {
  blobs: Set<string>; // hex
  trees: Set<string>; // diff_id hex
  problems: Problem[];
}

const MAX_JSON = 4 << 20;

function readSmallJson<T>(store: Store, hex: string): T | undefined {
  const file = path.join(store.paths.blobs, hex);
  try {
    if (fs.statSync(file).size > MAX_JSON) return undefined;
    return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

class Marker {
  readonly reach: Reach = { blobs: new Set(), trees: new Set(), problems: [] };
  constructor(private readonly store: Store) {}

  private has(hex: string): boolean {
    return fs.existsSync(path.join(this.store.paths.blobs, hex));
  }

  /** Marks a manifest or index descriptor and everything below it. */
  descriptor(d: Descriptor, owner: string, repair?: Problem['repair']): void {
    if (!isDigest(d.digest)) {
      this.reach.problems.push({ message: `${owner}: invalid digest ${JSON.stringify(d.digest)}`, repair });
      return;
    }
    const hex = parseDigest(d.digest).hex;
    if (this.reach.blobs.has(hex)) return;
    this.reach.blobs.add(hex);
    if (!this.has(hex)) {
      this.reach.problems.push({
        message: `${owner}: ${isIndexMediaType(d.mediaType) ? 'index' : 'manifest'} ${d.digest} is missing`,
        repair,
      });
      return;
    }
    const doc = readSmallJson<Manifest & ImageIndex>(this.store, hex);
    if (!doc) {
      this.reach.problems.push({ message: `${owner}: ${d.digest} is not readable JSON`, repair });
      return;
    }
    if (Array.isArray(doc.manifests)) {
      for (const m of doc.manifests) this.descriptor(m, `${owner} → ${m.digest}`, repair);
      return;
    }
    this.manifest(doc, `${owner} (${d.digest})`, repair);
  }

  private manifest(m: Manifest, owner: string, repair?: Problem['repair']): void {
    if (!m.config || !Array.isArray(m.layers)) {
      this.reach.problems.push({ message: `${owner}: not an image manifest`, repair });
      return;
    }
    const blobs = [m.config, ...m.layers];
    for (const b of blobs) {
      if (!isDigest(b.digest)) {
        this.reach.problems.push({ message: `${owner}: invalid digest ${JSON.stringify(b.digest)}`, repair });
        continue;
      }
      const hex = parseDigest(b.digest).hex;
      this.reach.blobs.add(hex);
      if (!this.has(hex))
        this.reach.problems.push({ message: `${owner}: blob ${b.digest} is missing`, repair });
    }
    if (!isDigest(m.config.digest)) return;
    const config = readSmallJson<ImageConfig>(this.store, parseDigest(m.config.digest).hex);
    for (const id of config?.rootfs?.diff_ids ?? [])
      if (isDigest(id)) this.reach.trees.add(parseDigest(id).hex);
  }

  cacheEntry(key: string, e: CacheEntry): void {
    const repair = { kind: 'cache' as const, id: key };
    for (const d of [e.layer?.digest, ...(e.refs ?? [])]) {
      if (!isDigest(d)) {
        this.reach.problems.push({
          message: `cache entry ${key}: invalid digest ${JSON.stringify(d)}`,
          repair,
        });
        continue;
      }
      const hex = parseDigest(d).hex;
      this.reach.blobs.add(hex);
      if (!this.has(hex))
        this.reach.problems.push({ message: `cache entry ${key}: blob ${d} is missing`, repair });
      // A ref may itself be a manifest (a cached image): follow it.
      const doc = readSmallJson<Manifest & ImageIndex>(this.store, hex);
      if (doc && (Array.isArray(doc.manifests) || (doc.config && Array.isArray(doc.layers)))) {
        this.descriptor({ mediaType: doc.mediaType ?? '', digest: d, size: 0 }, `cache entry ${key}`, repair);
      }
    }
    if (isDigest(e.diffId)) this.reach.trees.add(parseDigest(e.diffId).hex);
    else this.reach.problems.push({ message: `cache entry ${key}: invalid diff_id`, repair });
  }

  leaseRoot(d: string): void {
    if (!isDigest(d)) return;
    const hex = parseDigest(d).hex;
    this.reach.trees.add(hex); // a lease may name a layer tree by diff_id
    if (this.has(hex)) this.descriptorIfDocument(d, hex);
  }

  private descriptorIfDocument(d: string, hex: string): void {
    const doc = readSmallJson<Manifest & ImageIndex>(this.store, hex);
    if (doc && (Array.isArray(doc.manifests) || (doc.config && Array.isArray(doc.layers)))) {
      this.descriptor({ mediaType: doc.mediaType ?? '', digest: d, size: 0 }, `lease ${d}`);
    } else this.reach.blobs.add(hex);
  }
}

/** Everything reachable from the roots. Call under the store's exclusive lock for gc. */
export function markReachable(store: Store): Reach {
  const marker = new Marker(store);
  for (const m of readIndex(store.paths).manifests) {
    const name = nameOf(m) ?? m.digest;
    marker.descriptor(m, `image ${name}`, { kind: 'name', id: name });
  }
  for (const file of fs.readdirSync(store.paths.cache)) {
    if (!file.endsWith('.json')) continue;
    const key = file.slice(0, -5);
    let entry: CacheEntry | undefined;
    try {
      entry = JSON.parse(fs.readFileSync(path.join(store.paths.cache, file), 'utf8')) as CacheEntry;
    } catch {
      marker.reach.problems.push({
        message: `cache entry ${key} is not valid JSON`,
        repair: { kind: 'cache', id: key },
      });
      continue;
    }
    marker.cacheEntry(key, entry);
  }
  for (const root of liveLeaseRoots(store.paths.locks)) marker.leaseRoot(root);
  return marker.reach;
}
