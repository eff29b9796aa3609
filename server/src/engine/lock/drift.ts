// What differs between the layer a lock pins and the layer a rebuild made: both read as entry
// streams (the tar's own view, whiteouts included), summarised per path, then compared. Sizes are
// reported so that a reader can tell a timestamp in a log from a different library.
import { createHash } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import * as tar from 'tar-stream';
import { StrataError } from '../errors';
import type { FileDifference } from '../build/events';
import type { EntryWithData } from '../layer/entry';

export interface EntrySummary {
  type: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  linkname?: string;
  sha256?: string;
}

/** Reads a layer's entries into path → summary, hashing file contents on the way. */
export async function summariseEntries(
  entries: AsyncIterable<EntryWithData>,
): Promise<Map<string, EntrySummary>> {
  const out = new Map<string, EntrySummary>();
  for await (const { entry, data } of entries) {
    let sha256: string | undefined;
    if (data !== undefined) {
      const h = createHash('sha256');
      if (data instanceof Uint8Array) h.update(data);
      else for await (const chunk of data) h.update(chunk);
      sha256 = h.digest('hex');
    }
    out.set(entry.path, {
      type: entry.type,
      mode: entry.mode,
      uid: entry.uid,
      gid: entry.gid,
      size: entry.size ?? 0,
      ...(entry.linkname !== undefined ? { linkname: entry.linkname } : {}),
      ...(sha256 ? { sha256 } : {}),
    });
  }
  return out;
}

function changes(a: EntrySummary, b: EntrySummary): string[] {
  const what: string[] = [];
  if (a.type !== b.type) what.push(`type ${a.type} -> ${b.type}`);
  if (a.sha256 !== b.sha256 || a.size !== b.size) what.push('content');
  if (a.mode !== b.mode) what.push(`mode ${a.mode.toString(8)} -> ${b.mode.toString(8)}`);
  if (a.uid !== b.uid || a.gid !== b.gid) what.push(`owner ${a.uid}:${a.gid} -> ${b.uid}:${b.gid}`);
  if (a.linkname !== b.linkname) what.push(`link ${a.linkname ?? ''} -> ${b.linkname ?? ''}`);
  return what;
}

/** Files added, removed and changed from `locked` to `built`, in path order. */
export function compareSummaries(
  locked: Map<string, EntrySummary>,
  built: Map<string, EntrySummary>,
): FileDifference[] {
  const paths = [...new Set([...locked.keys(), ...built.keys()])].sort();
  const out: FileDifference[] = [];
  for (const p of paths) {
    const a = locked.get(p);
    const b = built.get(p);
    const shown = '/' + p;
    if (!a && b) out.push({ path: shown, change: 'added', builtSize: b.size });
    else if (a && !b) out.push({ path: shown, change: 'removed', lockedSize: a.size });
    else if (a && b) {
      const what = changes(a, b);
      if (what.length)
        out.push({ path: shown, change: 'changed', lockedSize: a.size, builtSize: b.size, what });
    }
  }
  return out;
}

/**
 * Reads a layer tar (gzip or plain) into path -> summary, for comparison only: nothing is written,
 * so the tar is taken as it is (whiteouts `.wh.NAME` and opaque markers are listed under their
 * tar names, which is how a reader of the report recognises them).
 */
export async function summariseTar(
  source: NodeJS.ReadableStream,
  gzip: boolean,
  where: string,
): Promise<Map<string, EntrySummary>> {
  const out = new Map<string, EntrySummary>();
  const extract = tar.extract();
  const done = (async () => {
    for await (const entry of extract) {
      const h = entry.header;
      const hash = createHash('sha256');
      let size = 0;
      for await (const chunk of entry) {
        hash.update(chunk as Buffer);
        size += (chunk as Buffer).length;
      }
      const p = h.name.replace(/^\.\//, '').replace(/\/$/, '');
      out.set(p, {
        type: h.type ?? 'file',
        mode: h.mode ?? 0,
        uid: h.uid ?? 0,
        gid: h.gid ?? 0,
        size,
        ...(h.linkname ? { linkname: h.linkname } : {}),
        ...(h.type === 'file' || h.type === 'contiguous-file' ? { sha256: hash.digest('hex') } : {}),
      });
    }
  })();
  try {
    await Promise.all([gzip ? pipeline(source, createGunzip(), extract) : pipeline(source, extract), done]);
  } catch (e) {
    throw new StrataError(
      'LAYER',
      `${where}: cannot read the layer to compare it: ${(e as Error).message}`,
      undefined,
      { cause: e },
    );
  }
  return out;
}
