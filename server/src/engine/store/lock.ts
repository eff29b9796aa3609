// File locks between Strata processes, without native addons.
//
// Node has no flock(2). We use lock files created with O_EXCL (atomic on local file systems and on
// NFSv3+), holding the owner's pid, its start time from /proc/<pid>/stat (so a recycled pid is not
// mistaken for the owner) and the host name. A lock whose owner is gone (kill -9, power cut) is stale
// and is broken by the next process that wants it. Waiting is by polling (20 ms, growing to 200 ms).
//
// Two kinds:
// - Mutex(file): one holder at a time (index.json updates, one gc at a time).
// - StoreLock: readers/writer. Pulls, builds, imports take it shared; gc and fsck --repair take it
//   exclusive. Shared holders each create `shared-<pid>-<rand>`; an exclusive holder first takes
//   the `exclusive` mutex (new shared holders then back off) and waits until no live shared holder
//   is left. Each side writes its own file before looking for the other's, so one always sees the
//   other (no window where both proceed).
// Never ask for the exclusive lock while the same call chain holds a shared one: it would wait for
// itself.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { StrataError } from '../errors';

interface Owner {
  pid: number;
  start: string;
  host: string;
  token: string;
}

/** The start time of a process (clock ticks since boot), '' when it does not exist. */
function processStart(pid: number): string {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces and parentheses: split after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19] ?? '';
  } catch {
    return '';
  }
}

const self: Omit<Owner, 'token'> = {
  pid: process.pid,
  start: processStart(process.pid),
  host: os.hostname(),
};

function newOwner(): Owner {
  return { ...self, token: randomBytes(8).toString('hex') };
}

function readOwner(file: string): Owner | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as Owner;
  } catch {
    return undefined;
  }
}

/** Is the process that wrote this lock still running? Locks from other hosts count as alive. */
export function ownerAlive(owner: Owner | undefined): boolean {
  if (!owner || typeof owner.pid !== 'number') return false; // unreadable or half-written: stale
  if (owner.host !== self.host) return true;
  const start = processStart(owner.pid);
  return start !== '' && start === owner.start;
}

function createExclusive(file: string, owner: Owner): boolean {
  let fd: number;
  try {
    fd = fs.openSync(file, 'wx', 0o644);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  }
  try {
    fs.writeSync(fd, JSON.stringify(owner));
  } finally {
    fs.closeSync(fd);
  }
  return true;
}

/**
 * Removes `file` if it still holds the stale owner `stale`. Rename first (atomic), then check what
 * we renamed: if another process replaced the stale lock meanwhile, put its lock back.
 */
function breakStale(file: string, stale: Owner | undefined): void {
  const aside = `${file}.stale-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    fs.renameSync(file, aside);
  } catch {
    return; // someone else broke it already
  }
  const moved = readOwner(aside);
  if (stale && moved && moved.token !== stale.token && ownerAlive(moved)) {
    try {
      fs.linkSync(aside, file);
    } catch {
      /* a third process took the lock in between; the one we moved loses it (documented race) */
    }
  }
  fs.rmSync(aside, { force: true });
}

export interface WaitOptions {
  /** Called once when we have to wait, with a sentence naming the holder. */
  onWait?: (message: string) => void;
  /** Give up after this many ms (default: wait as long as it takes). */
  timeoutMs?: number;
  signal?: AbortSignal;
}

async function pause(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) throw signal.reason ?? new StrataError('CANCELLED', 'cancelled');
  await new Promise((r) => setTimeout(r, ms));
}

class Waiter {
  private delay = 20;
  private told = false;
  private readonly started = Date.now();
  constructor(
    private readonly what: string,
    private readonly options: WaitOptions,
  ) {}

  async wait(holder: Owner | undefined): Promise<void> {
    if (!this.told) {
      this.told = true;
      this.options.onWait?.(`waiting for ${this.what} held by pid ${holder?.pid ?? '?'}`);
    }
    if (this.options.timeoutMs !== undefined && Date.now() - this.started > this.options.timeoutMs) {
      throw new StrataError(
        'STORE',
        `timed out waiting for ${this.what} held by pid ${holder?.pid ?? '?'}`,
        'another strata process is using the store; wait for it or stop it',
      );
    }
    await pause(this.delay, this.options.signal);
    this.delay = Math.min(200, this.delay * 2);
  }
}

export interface Release {
  (): void;
}

/** Takes the mutex `file` (created O_EXCL), waiting for a live holder, breaking a stale one. */
export async function lockMutex(file: string, what: string, options: WaitOptions = {}): Promise<Release> {
  const owner = newOwner();
  const waiter = new Waiter(what, options);
  for (;;) {
    if (createExclusive(file, owner)) {
      return () => {
        if (readOwner(file)?.token === owner.token) fs.rmSync(file, { force: true });
      };
    }
    const holder = readOwner(file);
    if (!ownerAlive(holder)) {
      // Half-written owner files are stale only when old enough (the writer may be mid-write).
      if (holder || ageMs(file) > 2000) {
        breakStale(file, holder);
        continue;
      }
    }
    await waiter.wait(holder);
  }
}

function ageMs(file: string): number {
  try {
    return Date.now() - fs.statSync(file).mtimeMs;
  } catch {
    return Infinity;
  }
}

/** The readers/writer lock over a whole store (folder `dir`). */
export class StoreLock {
  private readonly exclusiveFile: string;

  constructor(private readonly dir: string) {
    this.exclusiveFile = path.join(dir, 'exclusive');
  }

  async shared(options: WaitOptions = {}): Promise<Release> {
    const owner = newOwner();
    const mine = path.join(this.dir, `shared-${owner.pid}-${owner.token}`);
    const waiter = new Waiter('the store (gc or repair running)', options);
    for (;;) {
      fs.writeFileSync(mine, JSON.stringify(owner));
      const excl = readOwner(this.exclusiveFile);
      if (!fs.existsSync(this.exclusiveFile)) break;
      fs.rmSync(mine, { force: true });
      if (!ownerAlive(excl) && (excl || ageMs(this.exclusiveFile) > 2000)) {
        breakStale(this.exclusiveFile, excl);
        continue;
      }
      await waiter.wait(excl);
    }
    return () => fs.rmSync(mine, { force: true });
  }

  async exclusive(options: WaitOptions = {}): Promise<Release> {
    const release = await lockMutex(this.exclusiveFile, 'the store (another gc or repair)', options);
    try {
      const waiter = new Waiter('the store (pulls or builds running)', options);
      for (;;) {
        const live = this.liveSharedHolders();
        if (live.length === 0) break;
        await waiter.wait(live[0]);
      }
    } catch (e) {
      release();
      throw e;
    }
    return release;
  }

  /** Live shared holders; removes the files of dead ones on the way. */
  liveSharedHolders(): Owner[] {
    const live: Owner[] = [];
    for (const name of fs.readdirSync(this.dir)) {
      if (!name.startsWith('shared-')) continue;
      const file = path.join(this.dir, name);
      const owner = readOwner(file);
      if (ownerAlive(owner)) live.push(owner!);
      else if (owner || ageMs(file) > 2000) fs.rmSync(file, { force: true });
    }
    return live;
  }
}

/** Is a process with this pid running on this host (for temp files, which record no start time)? */
export function pidAlive(pid: number): boolean {
  return pid === process.pid || fs.existsSync(`/proc/${pid}`);
}

/** The roots of the live leases in `dir` (files lease-*.json); removes those of dead processes. */
export function liveLeaseRoots(dir: string): string[] {
  const roots: string[] = [];
  for (const name of fs.readdirSync(dir)) {
    if (!name.startsWith('lease-') || !name.endsWith('.json')) continue;
    const file = path.join(dir, name);
    let lease: { pid?: number; roots?: unknown } | undefined;
    try {
      lease = JSON.parse(fs.readFileSync(file, 'utf8')) as { pid?: number; roots?: unknown };
    } catch {
      lease = undefined;
    }
    if (lease && typeof lease.pid === 'number' && pidAlive(lease.pid)) {
      if (Array.isArray(lease.roots)) for (const r of lease.roots) if (typeof r === 'string') roots.push(r);
    } else if (lease || ageMs(file) > 2000) {
      fs.rmSync(file, { force: true });
    }
  }
  return roots;
}
