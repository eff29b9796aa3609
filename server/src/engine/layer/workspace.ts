// Layer entries from workspace files, for `copy` steps: no container, no strata-box. So that the
// same files give the same layer on any machine, whatever the checkout: owners are 0:0, every time
// is the epoch, modes are normalised (0755 for directories and files with any execute bit, 0644
// otherwise, 0777 for symlinks), since umask and git do not carry other bits reliably. Symlinks are
// copied as symlinks, never followed; hardlinked files stay hardlinks. `.strataignore` is honoured.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { StrataError } from '../errors';
import type { EntryWithData, LayerEntry } from './entry';
import { IgnoreRules } from './ignore';

export interface WorkspaceCopy {
  /** The workspace root (the folder of strata.yaml); `.strataignore` is read from here. */
  root: string;
  /** The source, relative to `root` (a file or a folder; a folder's contents are copied). */
  src: string;
  /** The absolute destination in the image, e.g. /opt/inv. */
  dest: string;
  /** Every entry's time (seconds since the epoch). */
  epoch: number;
  /** Rules to use instead of `<root>/.strataignore`. */
  ignore?: IgnoreRules;
}

interface Found {
  rel: string; // relative to root, for ignore rules and messages
  abs: string;
  inImage: string; // path inside the layer
  st: fs.Stats;
}

const CHUNK = 1 << 20;

function userError(message: string, hint?: string): StrataError {
  return new StrataError('BUILD', message, hint);
}

function walk(copy: WorkspaceCopy, rules: IgnoreRules): { found: Found[]; parents: string[] } {
  const root = fs.realpathSync(copy.root);
  const absSrc = path.resolve(root, copy.src);
  let real: string;
  try {
    real = fs.realpathSync(absSrc);
  } catch {
    throw userError(
      `copy source ${copy.src} does not exist in ${root}`,
      'check the src path of the copy step',
    );
  }
  if (real !== root && !real.startsWith(root + path.sep)) {
    throw userError(
      `copy source ${copy.src} is outside the workspace ${root}`,
      'copy only files below the folder of strata.yaml',
    );
  }
  const destParts = copy.dest.split('/').filter((p) => p && p !== '.');
  if (!copy.dest.startsWith('/') || destParts.includes('..')) {
    throw userError(
      `copy destination ${copy.dest} must be an absolute path without ".."`,
      'e.g. dest: /opt/app',
    );
  }
  const dest = destParts.join('/');
  const parents = destParts.slice(0, -1).map((_, i) => destParts.slice(0, i + 1).join('/'));
  const found: Found[] = [];
  const st = fs.lstatSync(real);
  const relOf = (abs: string) => path.relative(root, abs).split(path.sep).join('/');
  if (!st.isDirectory()) {
    found.push({ rel: relOf(real), abs: real, inImage: dest, st });
    return { found, parents };
  }
  if (dest) found.push({ rel: relOf(real), abs: real, inImage: dest, st });
  const stack: [string, string][] = [[real, dest]];
  while (stack.length) {
    const [dir, inImage] = stack.pop()!;
    for (const name of fs.readdirSync(dir)) {
      const abs = path.join(dir, name);
      const s = fs.lstatSync(abs);
      const rel = relOf(abs);
      if (rules.ignores(rel, s.isDirectory())) continue;
      const child = inImage ? `${inImage}/${name}` : name;
      found.push({ rel, abs, inImage: child, st: s });
      if (s.isDirectory()) stack.push([abs, child]);
    }
  }
  return { found, parents };
}

function* readChunks(file: string, size: number): Generator<Uint8Array> {
  const fd = fs.openSync(file, 'r');
  try {
    let left = size;
    while (left > 0) {
      const buf = Buffer.allocUnsafe(Math.min(CHUNK, left));
      const n = fs.readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      left -= n;
      yield buf.subarray(0, n);
    }
  } finally {
    fs.closeSync(fd);
  }
}

async function* asAsync(it: Iterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  yield* it;
}

/** The entries of a copy step, in byte order of their paths; file data is read as they are consumed. */
export function* workspaceEntries(copy: WorkspaceCopy): Generator<EntryWithData> {
  const rules = copy.ignore ?? IgnoreRules.load(copy.root);
  const { found, parents } = walk(copy, rules);
  const base = { uid: 0, gid: 0, mtime: copy.epoch };
  for (const p of parents) yield { entry: { ...base, type: 'dir', path: p, mode: 0o755 } };
  found.sort((a, b) => Buffer.compare(Buffer.from(a.inImage), Buffer.from(b.inImage)));
  const firstOfInode = new Map<string, string>();
  for (const f of found) {
    const { st } = f;
    let entry: LayerEntry;
    let data: EntryWithData['data'];
    if (st.isDirectory()) entry = { ...base, type: 'dir', path: f.inImage, mode: 0o755 };
    else if (st.isSymbolicLink())
      entry = { ...base, type: 'symlink', path: f.inImage, mode: 0o777, linkname: fs.readlinkSync(f.abs) };
    else if (st.isFile()) {
      const key = `${st.dev}:${st.ino}`;
      const first = st.nlink > 1 ? firstOfInode.get(key) : undefined;
      const mode = st.mode & 0o111 ? 0o755 : 0o644;
      if (first) entry = { ...base, type: 'hardlink', path: f.inImage, mode, linkname: first };
      else {
        if (st.nlink > 1) firstOfInode.set(key, f.inImage);
        entry = { ...base, type: 'file', path: f.inImage, mode, size: st.size };
        data = st.size <= CHUNK ? fs.readFileSync(f.abs) : asAsync(readChunks(f.abs, st.size));
      }
    } else if (st.isSocket())
      continue; // editor and agent sockets are not content
    else if (st.isFIFO()) entry = { ...base, type: 'fifo', path: f.inImage, mode: 0o644 };
    else throw userError(`${f.rel} is a device node; copy steps take files, folders and symlinks`);
    yield { entry, data };
  }
}
