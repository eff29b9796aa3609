// The content digest of a copy step's sources without reading them when nothing changed, as git's
// index does: every file's (path, mode, size, mtime, ctime, inode, device, links) in nanoseconds,
// plus `.strataignore`'s, make a fingerprint; $STRATA_HOME/cache/copy-content/<source> keeps the
// last fingerprint and the digest it gave. Any difference (or an unreadable entry) means hashing
// the files again. ctime and inode catch what mtime cannot: content rewritten with the same size
// and the old mtime put back (`touch -d`, `utimes`) still moves ctime, a replaced file gets a new
// inode. Timestamps are only as fine as the kernel's clock tick, so a file changed within the
// tick after it was hashed could keep all of them: as git does with "racily clean" entries, a
// fingerprint holding a time within RACY_NS of now is not kept. Each entry names its source, so that
// `strata gc` can remove the entries of sources that are gone (store/gc.ts).
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { IgnoreRules } from '../layer/ignore';

/** Bump when the fingerprint or what the digest covers changes. */
const FORMAT = 'strata-copy-fingerprint-1';
const RACY_NS = 1_000_000_000n;

interface Entry {
  fingerprint: string;
  digest: string;
  /** The copy source (absolute): `strata gc` drops the entry once it is gone (store/gc.ts). */
  source?: string;
}

function statLine(rel: string, st: fs.BigIntStats): string {
  return [
    JSON.stringify(rel),
    st.mode,
    st.size,
    st.mtimeNs,
    st.ctimeNs,
    st.ino,
    st.dev,
    st.nlink,
    st.uid,
    st.gid,
  ].join(' ');
}

/**
 * The fingerprint of what a copy of `src` (below `root`) would read, and the newest time in it;
 * undefined when it cannot be taken (a missing source: the hashing path reports that properly).
 */
export function copyFingerprint(
  root: string,
  src: string,
): { fingerprint: string; newestNs: bigint } | undefined {
  try {
    const realRoot = fs.realpathSync(root);
    const realSrc = fs.realpathSync(path.resolve(root, src));
    const h = createHash('sha256');
    let newestNs = 0n;
    const add = (rel: string, st: fs.BigIntStats) => {
      h.update(statLine(rel, st) + '\n');
      if (st.mtimeNs > newestNs) newestNs = st.mtimeNs;
      if (st.ctimeNs > newestNs) newestNs = st.ctimeNs;
    };
    h.update(`${FORMAT}\n${JSON.stringify(realRoot)} ${JSON.stringify(realSrc)}\n`);
    const ignoreFile = path.join(realRoot, '.strataignore');
    const ignoreStat = fs.lstatSync(ignoreFile, { bigint: true, throwIfNoEntry: false });
    if (ignoreStat) add('.strataignore', ignoreStat);
    else h.update('no .strataignore\n');
    const rules = IgnoreRules.load(realRoot);
    const relOf = (abs: string) => path.relative(realRoot, abs).split(path.sep).join('/');
    const top = fs.lstatSync(realSrc, { bigint: true });
    add(relOf(realSrc), top);
    if (top.isDirectory()) {
      const stack = [realSrc];
      while (stack.length) {
        const dir = stack.pop()!;
        for (const name of fs.readdirSync(dir).sort()) {
          const abs = path.join(dir, name);
          const st = fs.lstatSync(abs, { bigint: true });
          const rel = relOf(abs);
          if (rules.ignores(rel, st.isDirectory())) continue;
          add(rel, st);
          if (st.isSymbolicLink()) h.update(`-> ${JSON.stringify(fs.readlinkSync(abs))}\n`);
          if (st.isDirectory()) stack.push(abs);
        }
      }
    }
    return { fingerprint: h.digest('hex'), newestNs };
  } catch {
    return undefined;
  }
}

function entryFile(home: string, root: string, src: string): string {
  const id = createHash('sha256')
    .update(`${path.resolve(root)}\0${path.resolve(root, src)}`)
    .digest('hex');
  return path.join(home, 'cache', 'copy-content', id);
}

function readEntry(file: string): Entry | undefined {
  try {
    const e = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<Entry>;
    if (
      typeof e.fingerprint === 'string' &&
      typeof e.digest === 'string' &&
      /^sha256:[0-9a-f]{64}$/.test(e.digest)
    )
      return { fingerprint: e.fingerprint, digest: e.digest, ...(e.source ? { source: e.source } : {}) };
  } catch {
    /* missing or damaged: hash again */
  }
  return undefined;
}

function writeEntry(file: string, entry: Entry): void {
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const tmp = `${file}.tmp-${process.pid}-${randomBytes(3).toString('hex')}`;
    fs.writeFileSync(tmp, JSON.stringify(entry) + '\n');
    fs.renameSync(tmp, file);
  } catch {
    /* a cache that cannot be written only costs the next build a hashing */
  }
}

/**
 * `compute()` (hashing every file) unless the fingerprint of the sources equals the one kept with
 * the last digest. The fingerprint is taken before hashing, so a file changed during the hashing
 * makes the next fingerprint differ.
 */
export async function cachedCopyDigest(
  home: string,
  root: string,
  src: string,
  compute: () => Promise<string>,
): Promise<string> {
  const before = copyFingerprint(root, src);
  const file = entryFile(home, root, src);
  if (before) {
    const kept = readEntry(file);
    if (kept && kept.fingerprint === before.fingerprint) return kept.digest;
  }
  const digest = await compute();
  const nowNs = BigInt(Date.now()) * 1_000_000n;
  if (before && before.newestNs < nowNs - RACY_NS)
    writeEntry(file, { fingerprint: before.fingerprint, digest, source: path.resolve(root, src) });
  return digest;
}
