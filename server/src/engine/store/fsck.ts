// `strata fsck`: re-hash every blob, follow every reference from the named images, the build cache
// and live leases, check every layer tree against what apply recorded when it made it, and report
// stale temp files. `--repair` (under the exclusive lock) removes what is broken: corrupt blobs,
// names and cache entries whose content is missing, incomplete or altered trees, stale temp files.
// Removing a corrupt blob makes the names that need it broken too; they are removed in the same run,
// and a later pull or build brings the content back.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isDigest, parseDigest } from '../digest';
import { hashStoredBlob } from './blobs';
import { staleTempEntries } from './gc';
import { readIndex, withoutName, writeIndex } from './image-index';
import { LayerTreeMeta, removeTreeForce } from './layer-trees';
import type { WaitOptions } from './lock';
import { markReachable, Problem } from './reach';
import type { Store } from './store';

export interface FsckReport {
  blobs: number;
  trees: number;
  problems: Problem[];
  /**
   * Leftovers of interrupted work (temp files of dead processes, a tree record whose rename never
   * happened): expected after a crash, not damage; gc and --repair remove them.
   */
  stale: Problem[];
  repaired: number;
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

function checkTrees(store: Store, problems: Problem[], stale: Problem[]): number {
  let trees = 0;
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
    trees++;
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
    const got = countTree(path.join(store.paths.layers, hex));
    if (got.nonDirs !== expected || got.bytes !== s.bytes) {
      problems.push({
        message: `layer tree ${hex}: ${got.nonDirs} files and ${got.bytes} bytes on disk, ${expected} and ${s.bytes} when unpacked (altered)`,
        repair,
      });
    }
  }
  return trees;
}

export async function fsck(
  store: Store,
  options: WaitOptions & { repair?: boolean; onProgress?: (done: number, total: number) => void } = {},
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
    const stale: Problem[] = [];
    const trees = checkTrees(store, problems, stale);
    for (const name of staleTempEntries(store)) {
      stale.push({
        message: `tmp/${name}: left by a process that is gone`,
        repair: { kind: 'temp', id: name },
      });
    }
    let repaired = 0;
    if (options.repair) repaired = repairAll(store, [...problems, ...stale]);
    return { blobs: blobs.length, trees, problems, stale, repaired };
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

function repairAll(store: Store, problems: Problem[]): number {
  let repaired = 0;
  const done = new Set<string>();
  for (const p of problems) {
    if (!p.repair) continue;
    const key = `${p.repair.kind}:${p.repair.id}`;
    if (done.has(key)) continue;
    done.add(key);
    const { kind, id } = p.repair;
    if (kind === 'blob') fs.rmSync(path.join(store.paths.blobs, id), { force: true });
    else if (kind === 'tree') {
      removeTreeForce(path.join(store.paths.layers, id));
      fs.rmSync(path.join(store.paths.layers, `${id}.json`), { force: true });
    } else if (kind === 'temp') removeTreeForce(path.join(store.paths.tmp, id));
    else if (kind === 'cache') fs.rmSync(path.join(store.paths.cache, `${id}.json`), { force: true });
    else if (kind === 'name') writeIndex(store.paths, withoutName(readIndex(store.paths), id));
    repaired++;
  }
  return repaired;
}
