// What differs between the layer a lock pins and the layer a rebuild made: both read as entry
// streams (the tar's own view, whiteouts included), summarised per path, then compared. Sizes are
// reported so that a reader can tell a timestamp in a log from a different library.
import { createHash } from 'node:crypto';
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
