// Interim adapter to the layer codec while its writer module is being written: a deterministic
// layer from an entry stream, composed from the codec's own pieces (tar-header.ts encodeHeader,
// gzip.ts gzipParallel) and the store's atomic ingest; and the entry stream of workspace files for
// copy steps (.strataignore honoured). ports.ts switches to the codec's writer when it lands.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Digester } from '../digest';
import { StrataError } from '../errors';
import { MediaType } from '../image/media-types';
import type { Descriptor } from '../image/types';
import { gzipParallel } from '../layer/gzip';
import { END_OF_ARCHIVE, encodeHeader, padding } from '../layer/tar-header';
import type { EntryWithData, LayerEntry } from '../sandbox/entry';
import type { Store } from '../store/store';

async function* tarStream(
  entries: AsyncIterable<EntryWithData>,
  epoch: number,
  signal?: AbortSignal,
): AsyncGenerator<Buffer> {
  for await (const { entry, data } of entries) {
    if (signal?.aborted) throw new StrataError('CANCELLED', 'cancelled while writing a layer');
    yield encodeHeader(entry as Parameters<typeof encodeHeader>[0], epoch);
    if (entry.type === 'file' && (entry.size ?? 0) > 0) {
      let n = 0;
      if (data instanceof Uint8Array) {
        n = data.length;
        yield Buffer.from(data);
      } else if (data) {
        for await (const chunk of data) {
          n += chunk.length;
          yield Buffer.from(chunk);
        }
      }
      if (n !== entry.size)
        throw new StrataError('LAYER', `${entry.path}: ${n} bytes of data for a size of ${entry.size}`);
      const pad = padding(n);
      if (pad) yield Buffer.alloc(pad);
    }
  }
  yield END_OF_ARCHIVE;
}

export async function writeLayer(
  store: Store,
  entries: AsyncIterable<EntryWithData>,
  options: { epoch: number; signal?: AbortSignal },
): Promise<{ descriptor: Descriptor; diffId: string }> {
  const diff = new Digester();
  const gz = gzipParallel(tarStream(entries, options.epoch, options.signal), {
    onInput: (b) => diff.update(b),
  });
  const r = await store.ingestBlob(gz, { signal: options.signal, where: 'a new layer' });
  return {
    descriptor: { mediaType: MediaType.OciLayerGzip, digest: r.digest.toString(), size: r.size },
    diffId: diff.digest().toString(),
  };
}

// ---- workspace files (copy steps) --------------------------------------------------------------

/** .strataignore in the spec's folder: gitignore-like patterns (`#`, `!`, `*`, `**`, `?`, `/`). */
export function readIgnore(specDir: string): (rel: string, isDir: boolean) => boolean {
  let lines: string[] = [];
  try {
    lines = fs.readFileSync(path.join(specDir, '.strataignore'), 'utf8').split('\n');
  } catch {
    /* none */
  }
  const rules = lines
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => {
      const negate = l.startsWith('!');
      let p = negate ? l.slice(1) : l;
      const dirOnly = p.endsWith('/');
      if (dirOnly) p = p.slice(0, -1);
      const anchored = p.startsWith('/') || p.includes('/');
      p = p.replace(/^\//, '');
      const re = p
        .split('')
        .map((c, i, a) => {
          if (c === '*' && a[i + 1] === '*') return '';
          if (c === '*' && a[i - 1] === '*') return '.*';
          if (c === '*') return '[^/]*';
          if (c === '?') return '[^/]';
          return c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
        })
        .join('');
      return { negate, dirOnly, regex: new RegExp(anchored ? `^${re}(/.*)?$` : `(^|/)${re}(/.*)?$`) };
    });
  return (rel, isDir) => {
    let ignored = rel === '.strataignore';
    for (const r of rules) if ((!r.dirOnly || isDir) && r.regex.test(rel)) ignored = !r.negate;
    return ignored;
  };
}

/** Modes as umask-independent as git's: dirs and executables 0755, other files 0644. */
function normalMode(stat: fs.Stats): number {
  return stat.isDirectory() || stat.mode & 0o111 ? 0o755 : 0o644;
}

interface WorkspaceFile {
  rel: string;
  abs: string;
  stat: fs.Stats;
}

function walk(
  root: string,
  specDir: string,
  ignore: (rel: string, isDir: boolean) => boolean,
): WorkspaceFile[] {
  const out: WorkspaceFile[] = [];
  const visit = (abs: string, rel: string) => {
    const stat = fs.lstatSync(abs);
    const specRel = path.relative(specDir, abs).split(path.sep).join('/');
    if (rel && ignore(specRel, stat.isDirectory())) return;
    out.push({ rel, abs, stat });
    if (stat.isDirectory())
      for (const name of fs.readdirSync(abs).sort())
        visit(path.join(abs, name), rel ? `${rel}/${name}` : name);
  };
  visit(root, '');
  return out;
}

/** The entries of a copy step: dest's parents, then src (a file or a folder's contents) under dest. */
export async function* workspaceEntries(
  src: string,
  dest: string,
  specDir: string,
  epoch: number,
): AsyncGenerator<EntryWithData> {
  const files = walk(src, specDir, readIgnore(specDir));
  const destRel = dest.replace(/^\/+|\/+$/g, '');
  const base = { uid: 0, gid: 0, mtime: epoch };
  const all: EntryWithData[] = [];
  const parts = destRel.split('/').filter(Boolean);
  const srcIsDir = files[0]?.stat.isDirectory();
  for (let i = 0; i < parts.length - (srcIsDir ? 0 : 1); i++)
    all.push({ entry: { type: 'dir', path: parts.slice(0, i + 1).join('/'), mode: 0o755, ...base } });
  for (const f of files) {
    const p = f.rel ? `${destRel}/${f.rel}` : destRel;
    if (!f.rel && srcIsDir) continue; // dest itself was listed above
    const mode = normalMode(f.stat);
    if (f.stat.isDirectory()) all.push({ entry: { type: 'dir', path: p, mode, ...base } });
    else if (f.stat.isSymbolicLink())
      all.push({
        entry: { type: 'symlink', path: p, mode: 0o777, linkname: fs.readlinkSync(f.abs), ...base },
      });
    else if (f.stat.isFile())
      all.push({
        entry: { type: 'file', path: p, mode, size: f.stat.size, ...base },
        data: fs.readFileSync(f.abs),
      });
  }
  all.sort((a, b) => Buffer.compare(Buffer.from(a.entry.path), Buffer.from(b.entry.path)));
  for (const e of all) yield e;
}

/** The content a copy step would copy, as one digest (paths, types, modes, bytes; not times). */
export function copyContentDigest(src: string, specDir: string): string {
  const h = createHash('sha256');
  for (const f of walk(src, specDir, readIgnore(specDir))) {
    const kind = f.stat.isDirectory() ? 'd' : f.stat.isSymbolicLink() ? 'l' : f.stat.isFile() ? 'f' : 'o';
    h.update(`${kind}\0${f.rel}\0${normalMode(f.stat).toString(8)}\0`);
    if (kind === 'f') h.update(createHash('sha256').update(fs.readFileSync(f.abs)).digest());
    if (kind === 'l') h.update(fs.readlinkSync(f.abs));
    h.update('\n');
  }
  return `sha256:${h.digest('hex')}`;
}

export type { LayerEntry };
