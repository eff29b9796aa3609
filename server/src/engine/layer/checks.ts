// The hostile-layer checks, run on each tar entry after its PAX and GNU long headers are merged
// (so a long name cannot hide from them). They are the first line; `strata-box apply` resolves
// every path inside the tree again (openat2 RESOLVE_IN_ROOT) as the second.
// References: CVE-2019-14271 / CVE-2018-15664 (symlink races and escapes), CVE-2021-30465 (symlink
// swapped for a directory), containerd archive/tar.go (whiteouts, parent symlinks), OCI image-spec
// layer.md (whiteout names, `.wh..wh..opq`).
import { StrataError } from '../errors';
import type { LayerEntry, LayerEntryType } from './entry';
import type { LayerLimits } from './limits';

const WH_PREFIX = '.wh.';
const WH_OPAQUE = '.wh..wh..opq';

export class LayerChecker {
  /** Every path seen so far in this layer and what it is. */
  private readonly seen = new Map<string, LayerEntryType>();
  private entries = 0;

  constructor(
    private readonly where: string,
    private readonly limits: LayerLimits,
  ) {}

  fail(entry: string, what: string, hint = 'the layer is malformed or hostile; nothing was unpacked'): never {
    throw new StrataError(
      'LAYER',
      `layer ${this.where}: entry ${JSON.stringify(entry.slice(0, 300))}: ${what}`,
      hint,
    );
  }

  /**
   * Normalises a tar path to "a/b/c" (no leading "./", no trailing "/"); "." for the root.
   * Refuses NUL, absolute paths, "..", over-long paths and names, and deep trees.
   */
  normalizePath(raw: string, entry = raw, label = 'path'): string {
    if (raw.includes('\0')) this.fail(entry, `NUL byte in the ${label}`);
    if (Buffer.byteLength(raw) > this.limits.maxPathBytes)
      this.fail(entry, `${label} longer than ${this.limits.maxPathBytes} bytes`);
    if (raw.startsWith('/')) this.fail(entry, `absolute ${label}`);
    const parts: string[] = [];
    for (const part of raw.split('/')) {
      if (part === '' || part === '.') continue;
      if (part === '..') this.fail(entry, `".." in the ${label}`);
      if (Buffer.byteLength(part) > this.limits.maxNameBytes)
        this.fail(entry, `${label} component longer than ${this.limits.maxNameBytes} bytes`);
      parts.push(part);
    }
    if (parts.length > this.limits.maxDepth)
      this.fail(entry, `${label} deeper than ${this.limits.maxDepth} levels`);
    return parts.length ? parts.join('/') : '.';
  }

  checkId(raw: string, what: string, id: number): void {
    if (!Number.isSafeInteger(id) || id < 0 || id > this.limits.maxId)
      this.fail(raw, `${what} ${id} out of range`);
  }

  /**
   * Turns `.wh.NAME` into a whiteout of NAME and `.wh..wh..opq` into an opaque marker, refusing the
   * spellings that would name the folder itself, its parent, or another reserved name.
   */
  decodeWhiteout(path: string, raw: string): { type: 'whiteout' | 'opaque'; path: string } | undefined {
    const slash = path.lastIndexOf('/');
    const base = path.slice(slash + 1);
    if (!base.startsWith(WH_PREFIX)) return undefined;
    const dir = slash < 0 ? '.' : path.slice(0, slash);
    if (base === WH_OPAQUE) return { type: 'opaque', path: dir };
    const target = base.slice(WH_PREFIX.length);
    if (target === '') this.fail(raw, 'bare ".wh." whiteout');
    if (target === '.' || target === '..') this.fail(raw, `whiteout of "${target}"`);
    if (target.startsWith(WH_PREFIX))
      this.fail(raw, 'reserved ".wh..wh." name that is not the opaque marker');
    return { type: 'whiteout', path: dir === '.' ? target : `${dir}/${target}` };
  }

  /** Checks an entry against what came before it in this layer and records it. */
  admit(entry: LayerEntry, raw: string): void {
    if (++this.entries > this.limits.maxEntries)
      this.fail(raw, `more than ${this.limits.maxEntries} entries`);
    const p = entry.path;
    if (p === '.' && entry.type !== 'dir' && entry.type !== 'opaque')
      this.fail(raw, `the layer root cannot be a ${entry.type}`);
    this.checkParents(p, raw);
    const before = this.seen.get(p);
    const sameDir = before === 'dir' && (entry.type === 'dir' || entry.type === 'opaque');
    if (before !== undefined && !sameDir) {
      this.fail(raw, `duplicate entry (a ${before} earlier, now a ${entry.type})`);
    }
    if (entry.type === 'hardlink') this.checkHardlink(entry, raw);
    if (entry.type === 'char' || entry.type === 'block') {
      if (entry.type === 'char' && entry.devmajor === 0 && entry.devminor === 0)
        this.fail(
          raw,
          'a 0:0 character device (an overlay whiteout in disguise)',
          'OCI layers mark deletions with .wh. files',
        );
      this.fail(
        raw,
        `${entry.type} device node`,
        'layers may not carry device nodes; the container runtime provides /dev',
      );
    }
    for (const name of Object.keys(entry.xattrs ?? {})) {
      if (name.startsWith('trusted.overlay.') || name.startsWith('user.overlay.')) {
        this.fail(raw, `overlay xattr ${name}`, 'layers may not set overlayfs attributes');
      }
    }
    // An opaque marker records the folder, not a new path: it may share its name with the folder.
    if (entry.type !== 'opaque') this.seen.set(p, entry.type);
  }

  private checkParents(p: string, raw: string): void {
    let i = p.indexOf('/');
    while (i >= 0) {
      const parent = p.slice(0, i);
      const t = this.seen.get(parent);
      if (t === 'symlink') this.fail(raw, `parent ${parent} is a symlink in this layer`);
      if (t !== undefined && t !== 'dir') this.fail(raw, `parent ${parent} is a ${t}, not a directory`);
      i = p.indexOf('/', i + 1);
    }
  }

  private checkHardlink(entry: LayerEntry, raw: string): void {
    if (entry.linkname?.startsWith('/')) this.fail(raw, `hardlink to the absolute path ${entry.linkname}`);
    const target = this.normalizePath(entry.linkname ?? '', raw, 'hardlink target');
    const t = this.seen.get(target);
    if (t === undefined) this.fail(raw, `hardlink to ${target}, which is not earlier in this layer`);
    if (t !== 'file' && t !== 'symlink' && t !== 'hardlink' && t !== 'fifo')
      this.fail(raw, `hardlink to ${target}, a ${t}`);
    entry.linkname = target;
  }
}
