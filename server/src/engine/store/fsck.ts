// `strata fsck`: re-hash every blob, follow every reference from the named images, the build cache
// and live leases, check every layer tree against what was recorded when it was made (entry counts,
// and the digest of its listing: a file edited, chmod-ed, added or removed), with `--deep` also
// every file's content against the layer blob, and report stale temp files. `--repair` (under the exclusive lock) removes what is broken: corrupt blobs,
// names and cache entries whose content is missing, incomplete or altered trees, stale temp files.
// Removing a corrupt blob makes the names that need it broken too; they are removed in the same run,
// and a later pull or build brings the content back.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isDigest, parseDigest } from '../digest';
import { StrataError } from '../errors';
import { layerCompression } from '../image/media-types';
import { readLayer } from '../layer/read';
import { hashStoredBlob } from './blobs';
import { agedTempEntries, staleTempEntries } from './gc';
import { readIndex, withoutName, writeIndex } from './image-index';
import { LayerTreeMeta, listingComparable, removeTreeForce, treeListing } from './layer-trees';
import type { WaitOptions } from './lock';
import { markReachable, Problem } from './reach';
import type { Store } from './store';

export interface FsckReport {
  blobs: number;
  trees: number;
  /** Trees checked by entry counts only: their record holds no listing (see layer-trees.ts). */
  countsOnly: number;
  problems: Problem[];
  /**
   * Leftovers of interrupted work (temp files of dead processes, a tree record whose rename never
   * happened): expected after a crash, not damage; gc and --repair remove them.
   */
  stale: Problem[];
  repaired: number;
  /** With --repair: what could not be removed, each with why. */
  notRepaired: string[];
}

/** Counts a tree the way apply counted what it made: non-directories and bytes of distinct inodes. */
function countTree(root: string): { nonDirs: number; bytes: number } {
  let nonDirs = 0;
  let bytes = 0;
  const inodes = new Set<number>();
  const stack = [root];
  while (stack.length) {
    const dir = stack.pop()!;
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) {
        stack.push(p);
        continue;
      }
      nonDirs++;
      if (e.isFile()) {
        const st = fs.lstatSync(p);
        if (!inodes.has(st.ino)) {
          inodes.add(st.ino);
          bytes += st.size;
        }
      }
    }
  }
  return { nonDirs, bytes };
}

interface TreeChecks {
  trees: number;
  /** Trees whose record has no listing (unpacked before listings, or by a writer that takes none). */
  countsOnly: number;
  problems: Problem[];
  stale: Problem[];
  /** Trees that passed the cheap checks, for --deep. */
  passed: { hex: string; meta: LayerTreeMeta }[];
}

function checkTrees(store: Store): TreeChecks {
  const out: TreeChecks = { trees: 0, countsOnly: 0, problems: [], stale: [], passed: [] };
  const { problems, stale } = out;
  const names = new Set(fs.readdirSync(store.paths.layers));
  for (const name of names) {
    const hex = name.replace(/\.json$/, '');
    const repair = { kind: 'tree' as const, id: hex };
    if (!isDigest(`sha256:${hex}`)) {
      problems.push({ message: `layers/sha256/${name}: not a layer tree name`, repair });
      continue;
    }
    if (name.endsWith('.json')) {
      if (!names.has(hex))
        stale.push({ message: `layer ${hex}: record of an unpack that did not finish`, repair });
      continue;
    }
    out.trees++;
    let meta: LayerTreeMeta | undefined;
    try {
      meta = JSON.parse(
        fs.readFileSync(path.join(store.paths.layers, `${hex}.json`), 'utf8'),
      ) as LayerTreeMeta;
    } catch {
      problems.push({ message: `layer tree ${hex}: no record of how it was made (incomplete?)`, repair });
      continue;
    }
    if (meta.diffId !== `sha256:${hex}`) {
      problems.push({ message: `layer tree ${hex}: record names ${meta.diffId}`, repair });
      continue;
    }
    const s = meta.summary;
    const expected = s.files + s.symlinks + s.hardlinks + s.whiteouts + s.nodes;
    const dir = path.join(store.paths.layers, hex);
    const got = countTree(dir);
    if (got.nonDirs !== expected || got.bytes !== s.bytes) {
      problems.push({
        message: `layer tree ${hex}: ${got.nonDirs} files and ${got.bytes} bytes on disk, ${expected} and ${s.bytes} when unpacked (altered)`,
        repair,
      });
      continue;
    }
    if (!listingComparable(meta.listing)) out.countsOnly++;
    else if (treeListing(dir).digest !== meta.listing.digest) {
      problems.push({
        message: `layer tree ${hex}: a file's content, mode, type or link target changed since it was unpacked (altered)`,
        repair,
      });
      continue;
    }
    out.passed.push({ hex, meta });
  }
  return out;
}

export async function fsck(
  store: Store,
  options: WaitOptions & {
    repair?: boolean;
    /** Also hash every file of every layer tree against its layer blob. */
    deep?: boolean;
    onProgress?: (done: number, total: number) => void;
  } = {},
): Promise<FsckReport> {
  const run = async (): Promise<FsckReport> => {
    const problems: Problem[] = [];
    try {
      readIndex(store.paths);
    } catch (e) {
      problems.push({ message: (e as Error).message });
    }
    const blobs = fs.readdirSync(store.paths.blobs);
    let done = 0;
    for (const hex of blobs) {
      const file = path.join(store.paths.blobs, hex);
      if (!isDigest(`sha256:${hex}`)) {
        problems.push({ message: `blobs/sha256/${hex}: not a digest`, repair: { kind: 'blob', id: hex } });
        continue;
      }
      const { digest } = await hashStoredBlob(file);
      if (digest.hex !== hex) {
        problems.push({
          message: `blob sha256:${hex} is corrupt: its content hashes to ${digest}`,
          repair: { kind: 'blob', id: hex },
        });
      }
      options.onProgress?.(++done, blobs.length);
    }
    const corrupt = new Set(problems.filter((p) => p.repair?.kind === 'blob').map((p) => p.repair!.id));
    const reach = markReachable(store);
    problems.push(...reach.problems);
    // A name or cache entry that reaches a corrupt blob is broken as well.
    if (corrupt.size) problems.push(...brokenByCorrupt(store, corrupt));
    const checked = checkTrees(store);
    const { trees, countsOnly, stale } = checked;
    problems.push(...checked.problems);
    for (const { hex, meta } of options.deep ? checked.passed : []) {
      const p = await deepCheckTree(store, hex, meta, corrupt, options.signal);
      if (p) problems.push(p);
    }
    for (const name of staleTempEntries(store)) {
      stale.push({
        message: `tmp/${name}: left by a process that is gone`,
        repair: { kind: 'temp', id: name },
      });
    }
    for (const name of agedTempEntries(store)) {
      stale.push({
        message: `tmp/${name}: untouched for ${name.startsWith('run-') ? 'over an hour and no run holds it' : 'over a day'}`,
        repair: { kind: 'temp', id: name },
      });
    }
    let repaired = 0;
    let notRepaired: string[] = [];
    if (options.repair) ({ repaired, notRepaired } = repairAll(store, [...problems, ...stale]));
    return { blobs: blobs.length, trees, countsOnly, problems, stale, repaired, notRepaired };
  };
  return options.repair ? store.withExclusive(run, options) : run();
}

function brokenByCorrupt(store: Store, corrupt: Set<string>): Problem[] {
  const out: Problem[] = [];
  // Re-mark per root to find which roots reach a corrupt blob.
  const index = readIndex(store.paths);
  for (const m of index.manifests) {
    const name = m.annotations?.['org.opencontainers.image.ref.name'] ?? m.digest;
    if (!isDigest(m.digest)) continue;
    const reach = reachOf(store, m.digest);
    for (const hex of reach)
      if (corrupt.has(hex))
        out.push({
          message: `image ${name}: needs corrupt blob sha256:${hex}`,
          repair: { kind: 'name', id: name },
        });
  }
  return out;
}

/** The blobs one manifest or index reaches (small helper for brokenByCorrupt). */
function reachOf(store: Store, digest: string): Set<string> {
  const seen = new Set<string>();
  const visit = (d: string) => {
    if (!isDigest(d)) return;
    const hex = parseDigest(d).hex;
    if (seen.has(hex)) return;
    seen.add(hex);
    try {
      const file = path.join(store.paths.blobs, hex);
      if (fs.statSync(file).size > 4 << 20) return;
      const doc = JSON.parse(fs.readFileSync(file, 'utf8')) as {
        manifests?: { digest: string }[];
        config?: { digest: string };
        layers?: { digest: string }[];
      };
      for (const m of doc.manifests ?? []) visit(m.digest);
      if (doc.config) visit(doc.config.digest);
      for (const l of doc.layers ?? []) visit(l.digest);
    } catch {
      /* a layer or a corrupt blob: nothing below it */
    }
  };
  visit(digest);
  return seen;
}

/** Removes what each problem's repair names; what cannot be removed is returned, with why. */
function repairAll(store: Store, problems: Problem[]): { repaired: number; notRepaired: string[] } {
  let repaired = 0;
  const notRepaired: string[] = [];
  const done = new Set<string>();
  for (const p of problems) {
    if (!p.repair) continue;
    const key = `${p.repair.kind}:${p.repair.id}`;
    if (done.has(key)) continue;
    done.add(key);
    const { kind, id } = p.repair;
    try {
      if (kind === 'blob') fs.rmSync(path.join(store.paths.blobs, id), { force: true });
      else if (kind === 'tree') {
        removeTreeForce(path.join(store.paths.layers, id));
        fs.rmSync(path.join(store.paths.layers, `${id}.json`), { force: true });
      } else if (kind === 'temp') removeTreeForce(path.join(store.paths.tmp, id));
      else if (kind === 'cache') fs.rmSync(path.join(store.paths.cache, `${id}.json`), { force: true });
      else if (kind === 'name') writeIndex(store.paths, withoutName(readIndex(store.paths), id));
      repaired++;
    } catch (e) {
      // One entry beyond our reach (files of ids we cannot touch) must not stop the others.
      notRepaired.push(`${p.message}: ${(e as Error).message}`);
    }
  }
  return { repaired, notRepaired };
}

/** sha256 (hex) of every regular file (and hardlink) the layer blob leaves at each path. */
async function expectedContents(
  store: Store,
  meta: LayerTreeMeta,
  signal?: AbortSignal,
): Promise<Map<string, string>> {
  const digest = parseDigest(meta.digest, 'layer tree record');
  const compression = layerCompression(meta.mediaType) ?? 'gzip';
  const expected = new Map<string, string>();
  const entries = readLayer(store.openBlob(digest), {
    compression,
    where: `layer ${digest}`,
    digest,
    diffId: parseDigest(meta.diffId, 'layer tree record'),
  });
  for await (const { entry, data } of entries) {
    if (signal?.aborted) throw new StrataError('CANCELLED', 'fsck --deep cancelled');
    if (entry.type === 'file') {
      const h = createHash('sha256');
      if (data instanceof Uint8Array) h.update(data);
      else if (data) for await (const chunk of data) h.update(chunk);
      expected.set(entry.path, h.digest('hex'));
    } else if (entry.type === 'hardlink' && entry.linkname !== undefined) {
      const target = expected.get(entry.linkname);
      if (target) expected.set(entry.path, target);
    } else if (entry.type !== 'opaque') expected.delete(entry.path);
  }
  return expected;
}

async function hashFile(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of fs.createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/**
 * `fsck --deep` for one tree: every regular file on disk is hashed and compared with what the layer
 * blob (itself verified by its digest) puts at that path; files only on disk or only in the blob
 * count too. Whiteouts, folders and links are the cheap listing's business. A tree whose blob is
 * corrupt or missing is not judged here (that problem is reported already).
 */
async function deepCheckTree(
  store: Store,
  hex: string,
  meta: LayerTreeMeta,
  corrupt: Set<string>,
  signal?: AbortSignal,
): Promise<Problem | undefined> {
  if (!isDigest(meta.digest)) return undefined;
  const blob = parseDigest(meta.digest);
  if (corrupt.has(blob.hex) || !store.hasBlob(blob)) return undefined;
  let expected: Map<string, string>;
  try {
    expected = await expectedContents(store, meta, signal);
  } catch (e) {
    if (e instanceof StrataError && e.code === 'CANCELLED') throw e;
    return {
      message: `layer tree ${hex}: its layer ${meta.digest} cannot be read to compare: ${(e as Error).message}`,
    };
  }
  const differ: string[] = [];
  const seen = new Set<string>();
  const stack: [string, string][] = [[path.join(store.paths.layers, hex), '']];
  while (stack.length) {
    const [dir, prefix] = stack.pop()!;
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, e.name);
      const rel = prefix ? `${prefix}/${e.name}` : e.name;
      if (e.isDirectory()) stack.push([full, rel]);
      if (!e.isFile()) continue;
      seen.add(rel);
      const want = expected.get(rel);
      if (want === undefined) differ.push(`added ${rel}`);
      else {
        let got: string | undefined;
        try {
          got = await hashFile(full);
        } catch {
          got = undefined; // unreadable to us (mode 000 rootless): the listing covers its mode
        }
        if (got !== undefined && got !== want) differ.push(`changed ${rel}`);
      }
    }
  }
  for (const rel of expected.keys()) if (!seen.has(rel)) differ.push(`missing ${rel}`);
  if (differ.length === 0) return undefined;
  differ.sort();
  return {
    message: `layer tree ${hex}: ${differ.length} file(s) differ from layer ${meta.digest}: ${differ.slice(0, 5).join(', ')}${differ.length > 5 ? ', ...' : ''} (altered)`,
    repair: { kind: 'tree', id: hex },
  };
}
