// Small file-system helpers for crash-safe writes: fsync a folder after a rename (so the rename
// survives a power cut, as containerd's local content writer does), and atomic small-file writes.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';

export function fsyncDir(dir: string): void {
  const fd = fs.openSync(dir, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** A unique name for a temporary file: owner pid first, so gc can tell live ones from stale ones. */
export function tempName(prefix: string): string {
  return `${prefix}-${process.pid}-${randomBytes(6).toString('hex')}`;
}

/** Writes `data` to `file` atomically: temp file in the same folder, fsync, rename, fsync folder. */
export function writeFileAtomic(file: string, data: string | Uint8Array, mode = 0o644): void {
  const dir = path.dirname(file);
  const tmp = path.join(dir, `.${tempName(path.basename(file))}.tmp`);
  const fd = fs.openSync(tmp, 'wx', mode);
  try {
    fs.writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data);
    fs.fsyncSync(fd);
  } catch (e) {
    fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  fs.closeSync(fd);
  try {
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  fsyncDir(dir);
}

/** Reads and parses a JSON file; undefined when it does not exist. */
export function readJsonIfExists<T>(file: string): T | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  return JSON.parse(text) as T;
}

/**
 * The owner pid encoded in a temp name `PREFIX-<pid>-<8 to 12 hex>[.ext]` (tempName() and the build
 * engine's step/verify folders), or undefined for names that carry none: those are never removed
 * by gc, since a running container's folder must not disappear under it.
 */
export function pidOfTempName(name: string): number | undefined {
  const m = /^[a-z]+-(\d{1,7})-[0-9a-f]{8,12}(?:\.[a-z]+)?$/.exec(name);
  return m ? Number(m[1]) : undefined;
}
