// Builders for layer entries and the oracle the hostile-stream tests use: a snapshot of everything
// around the target directory, taken before and after, which must not change.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { EntryWithData, LayerEntry } from '../../server/src/engine/sandbox/entry';

const T = 1_600_000_000;

export function dir(p: string, extra: Partial<LayerEntry> = {}): EntryWithData {
  return { entry: { type: 'dir', path: p, mode: 0o755, uid: 0, gid: 0, mtime: T, ...extra } };
}
export function file(p: string, content: string | Buffer, extra: Partial<LayerEntry> = {}): EntryWithData {
  const data = Buffer.from(content);
  return { entry: { type: 'file', path: p, mode: 0o644, uid: 0, gid: 0, mtime: T, size: data.length, ...extra }, data };
}
export function symlink(p: string, target: string): EntryWithData {
  return { entry: { type: 'symlink', path: p, mode: 0o777, uid: 0, gid: 0, mtime: T, linkname: target } };
}
export function hardlink(p: string, target: string): EntryWithData {
  return { entry: { type: 'hardlink', path: p, mode: 0o644, uid: 0, gid: 0, mtime: T, linkname: target } };
}
export function whiteout(p: string): EntryWithData {
  return { entry: { type: 'whiteout', path: p, mode: 0, uid: 0, gid: 0, mtime: 0 } };
}
export function opaque(p: string): EntryWithData {
  return { entry: { type: 'opaque', path: p, mode: 0, uid: 0, gid: 0, mtime: 0 } };
}

/** Every path under root except `skip`, with what identifies its content and metadata. */
export function snapshot(root: string, skip: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    for (const name of fs.readdirSync(d).sort()) {
      const p = path.join(d, name);
      if (p === skip) continue;
      const st = fs.lstatSync(p, { bigint: true });
      let what = `${st.mode}:${st.uid}:${st.gid}:${st.nlink}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
      if (st.isSymbolicLink()) what += `->${fs.readlinkSync(p)}`;
      if (st.isFile()) what += `#${createHash('sha256').update(fs.readFileSync(p)).digest('hex')}`;
      out.set(path.relative(root, p), what);
      if (st.isDirectory()) walk(p);
    }
  };
  walk(root);
  return out;
}

/** The value of one xattr of a file (no symlink followed), or undefined; read by Python, not by us. */
export function getXattr(file: string, name: string): Buffer | undefined {
  const hex = execFileSync('/usr/bin/python3', [
    '-c',
    'import os,sys\ntry: print(os.getxattr(sys.argv[1], sys.argv[2], follow_symlinks=False).hex())\nexcept OSError: print("-")',
    file,
    name,
  ])
    .toString()
    .trim();
  return hex === '-' ? undefined : Buffer.from(hex, 'hex');
}

/** Runs a shell script in new user and mount namespaces (`unshare -Urm`): root there, no host root needed. */
export function inUserNamespace(script: string, cwd: string): string {
  return execFileSync('unshare', ['-Urm', 'sh', '-euc', script], { cwd, stdio: ['ignore', 'pipe', 'pipe'] }).toString();
}
