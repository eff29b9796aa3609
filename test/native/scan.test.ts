// strata-box scan through scanUpperDir: what a container wrote into a real overlay upper dir comes
// back as byte-sorted entries, with whiteouts, opaque dirs, hardlinks, xattrs and owners mapped
// back to the container's ids.
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { StrataError } from '../../server/src/engine/errors';
import { applyEntries } from '../../server/src/engine/sandbox/apply';
import type { EntryWithData, LayerEntry } from '../../server/src/engine/sandbox/entry';
import { scanUpperDir, type ScanOptions, type ScanSummary } from '../../server/src/engine/sandbox/scan';
import { isRoot, makeTempDir, removeTree, requirePrerequisites, strataBox } from '../support';
import { dir, file, inUserNamespace, symlink } from './layer-support';

interface Scanned {
  entry: LayerEntry;
  text?: string;
}

async function scanAll(upper: string, options: ScanOptions = {}): Promise<{ entries: Scanned[]; summary: ScanSummary }> {
  const entries: Scanned[] = [];
  const gen = scanUpperDir(upper, options);
  for (;;) {
    const next = await gen.next();
    if (next.done) return { entries, summary: next.value };
    const { entry, data } = next.value;
    if (data && !(data instanceof Uint8Array)) {
      const parts: Buffer[] = [];
      for await (const c of data) parts.push(Buffer.from(c));
      entries.push({ entry, text: Buffer.concat(parts).toString('utf8') });
    } else entries.push({ entry });
  }
}

const describeEntry = (s: Scanned) =>
  `${s.entry.type} ${s.entry.path}${s.entry.linkname !== undefined ? ` -> ${s.entry.linkname}` : ''}${
    s.text !== undefined ? ` ${JSON.stringify(s.text)}` : ''
  }`;

/** The container's mapping as seen from here: container root is the invoking user (root: root). */
const selfMap = (): ScanOptions => ({
  uidMap: [{ inside: 0, outside: process.getuid!(), count: 1 }],
  gidMap: [{ inside: 0, outside: process.getgid!(), count: 1 }],
});

describe('strata-box scan', function () {
  let tmp: string;
  before(function () {
    requirePrerequisites(this, { files: [strataBox, '/usr/bin/busybox'], commands: ['unshare', '/usr/bin/python3'] });
  });
  beforeEach(function () {
    tmp = makeTempDir('scan');
  });
  afterEach(function () {
    removeTree(tmp);
  });

  it('reports what a container wrote and deleted through strata-box run, byte-sorted', async function () {
    const lower = path.join(tmp, 'lower');
    const upper = path.join(tmp, 'upper');
    const work = path.join(tmp, 'work');
    for (const d of [lower, upper, work]) fs.mkdirSync(d);
    await applyEntries(lower, [
      file('bin/busybox', fs.readFileSync('/usr/bin/busybox'), { mode: 0o755 }),
      symlink('bin/sh', 'busybox'),
      dir('dev'),
      dir('proc'),
      dir('sys'),
      dir('etc'),
      file('gone', 'old'),
      file('keep', 'kept'),
      file('cache/old1', '1'),
      file('cache/old2', '2'),
    ]);
    const script = [
      'rm /gone',
      'rm -r /cache && mkdir /cache && echo new > /cache/fresh',
      'echo data > /new && busybox ln /new /new2',
      'mkdir -p /o/a/b /o/a-b /o/a0',
      'busybox ln -s /etc/passwd /lnk',
      'busybox mkfifo /fifo',
    ].join(' && ');
    const run = execFileSync(
      strataBox,
      ['run', '--lower', lower, '--upper', upper, '--work', work, '--', '/bin/sh', '-c', script],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    assert.equal(run.toString(), '');

    const { entries, summary } = await scanAll(upper, selfMap());
    assert.deepEqual(entries.map(describeEntry), [
      'dir .',
      'dir cache',
      'opaque cache',
      'file cache/fresh "new\\n"',
      'fifo fifo',
      'whiteout gone',
      'symlink lnk -> /etc/passwd',
      'file new "data\\n"',
      'hardlink new2 -> new',
      'dir o',
      'dir o/a',
      'dir o/a-b', // '-' (0x2d) < '/' (0x2f) < '0' (0x30): full-path byte order, as tar layers sort
      'dir o/a/b',
      'dir o/a0',
    ]);
    for (const { entry } of entries) {
      assert.equal(entry.uid, 0, `${entry.path}: owned by container root`);
      assert.equal(entry.gid, 0, `${entry.path}: group of container root`);
      assert.equal(entry.xattrs, undefined, `${entry.path}: overlay's xattrs are not reported`);
    }
    assert.equal(summary.whiteouts, 1);
    assert.equal(summary.opaques, 1);
    assert.equal(summary.hardlinks, 1);
    assert.equal(summary.unmappedOwners, 0);
  });

  it('reads opaque dirs in the userxattr form and, as root, the trusted form', async function () {
    const modes = isRoot() ? ['userxattr', 'trusted'] : ['userxattr'];
    for (const mode of modes) {
      const base = path.join(tmp, mode);
      for (const d of ['lower/d', 'upper', 'work', 'm']) fs.mkdirSync(path.join(base, d), { recursive: true });
      fs.writeFileSync(path.join(base, 'lower/d/x'), 'x');
      fs.writeFileSync(path.join(base, 'lower/f'), 'f');
      const script = 'rm -r m/d && mkdir m/d && touch m/d/y && rm m/f';
      const opts = `lowerdir=lower,upperdir=upper,workdir=work`;
      if (mode === 'userxattr') inUserNamespace(`mount -t overlay o -o userxattr,${opts} m && ${script}`, base);
      else
        execFileSync('unshare', ['-m', 'sh', '-euc', `mount -t overlay o -o ${opts} m && ${script}`], { cwd: base });
      const { entries } = await scanAll(path.join(base, 'upper'), mode === 'userxattr' ? selfMap() : {});
      assert.deepEqual(entries.map(describeEntry), ['dir .', 'dir d', 'opaque d', 'file d/y ""', 'whiteout f'], mode);
    }
  });

  it('maps owners back through the container mapping and counts ids outside it', async function () {
    const upper = path.join(tmp, 'upper');
    fs.mkdirSync(upper);
    fs.writeFileSync(path.join(upper, 'mine'), 'm');
    const uid = process.getuid!();
    const gid = process.getgid!();
    let r = await scanAll(upper, {
      uidMap: [{ inside: 1000, outside: uid, count: 1 }],
      gidMap: [{ inside: 2000, outside: gid, count: 1 }],
    });
    const mine = r.entries.find((e) => e.entry.path === 'mine')!.entry;
    assert.equal(mine.uid, 1000);
    assert.equal(mine.gid, 2000);
    r = await scanAll(upper, { uidMap: [{ inside: 0, outside: uid + 1, count: 1 }] });
    assert.equal(r.entries.find((e) => e.entry.path === 'mine')!.entry.uid, 65534);
    assert.equal(r.summary.unmappedOwners, 2, 'the root and the file');
  });

  it('reports a capability set inside the container as a plain (revision 2) capability', async function () {
    const upper = path.join(tmp, 'upper');
    fs.mkdirSync(upper);
    fs.writeFileSync(path.join(upper, 'ping'), 'bin');
    // cap_net_raw=ep, revision 2, as setcap writes it and a layer holds it.
    const v2 = Buffer.from('0100000200200000000000000000000000000000', 'hex');
    inUserNamespace(
      `/usr/bin/python3 -c 'import os; os.setxattr("ping", "security.capability", bytes.fromhex("${v2.toString('hex')}"))'`,
      upper,
    );
    const { entries } = await scanAll(upper, selfMap());
    const ping = entries.find((e) => e.entry.path === 'ping')!.entry;
    assert.deepEqual(Buffer.from(ping.xattrs!['security.capability']), v2);
  });

  it('gives back the entries apply wrote, with hardlinks to the first path and xattrs', async function () {
    const tree = path.join(tmp, 'tree');
    fs.mkdirSync(tree);
    const input: EntryWithData[] = [
      dir('.', { mtime: 1_500_000_000 }),
      file('b', 'shared', { mode: 0o640, mtime: 1_500_000_001, xattrs: { 'user.note': Buffer.from('n') } }),
      { entry: { type: 'hardlink', path: 'a', mode: 0o640, uid: 0, gid: 0, mtime: 0, linkname: 'b' } },
      { entry: { type: 'hardlink', path: 'c', mode: 0o640, uid: 0, gid: 0, mtime: 0, linkname: 'b' } },
      dir('d', { mode: 0o750, mtime: 1_500_000_002 }),
      symlink('d/l', '../b'),
    ];
    await applyEntries(tree, input);
    const { entries } = await scanAll(tree, selfMap());
    assert.deepEqual(entries.map(describeEntry), [
      'dir .',
      'file a "shared"',
      'hardlink b -> a',
      'hardlink c -> a',
      'dir d',
      'symlink d/l -> ../b',
    ]);
    const a = entries[1].entry;
    assert.equal(a.mode, 0o640);
    assert.equal(a.mtimeNs, 1_500_000_001_000_000_000n);
    assert.deepEqual(Buffer.from(a.xattrs!['user.note']), Buffer.from('n'));
    assert.equal(entries[4].entry.mode, 0o750);
    assert.equal(entries[4].entry.mtime, 1_500_000_002);
  });

  it('refuses an upper dir made with redirect_dir, naming the entry', async function () {
    const upper = path.join(tmp, 'upper');
    fs.mkdirSync(path.join(upper, 'moved'), { recursive: true });
    execFileSync('/usr/bin/python3', [
      '-c',
      'import os,sys; os.setxattr(sys.argv[1], "user.overlay.redirect", b"/orig")',
      path.join(upper, 'moved'),
    ]);
    await assert.rejects(
      scanAll(upper),
      (e: unknown) =>
        e instanceof StrataError &&
        e.code === 'LAYER' &&
        /strata-box scan: entry 'moved': upper entry carries user.overlay.redirect/.test(e.message),
    );
  });

  it('refuses a tree deeper than a layer may be', async function () {
    const upper = path.join(tmp, 'upper');
    fs.mkdirSync(path.join(upper, ...Array<string>(257).fill('d')), { recursive: true });
    await assert.rejects(scanAll(upper), /deeper than 256 components/);
  });

  it('fails clearly on a missing directory', async function () {
    await assert.rejects(scanAll(path.join(tmp, 'missing')), /cannot open directory .*missing/);
  });

  it('is cancelled by its signal', async function () {
    const upper = path.join(tmp, 'upper');
    fs.mkdirSync(upper);
    for (let i = 0; i < 200; i++) fs.writeFileSync(path.join(upper, `f${i}`), Buffer.alloc(64 * 1024));
    const controller = new AbortController();
    let seen = 0;
    await assert.rejects(
      async () => {
        for await (const { data } of scanUpperDir(upper, { signal: controller.signal })) {
          if (++seen === 3) controller.abort();
          if (data && !(data instanceof Uint8Array)) for await (const _ of data) void _;
        }
      },
      (e: unknown) => e instanceof StrataError && e.code === 'CANCELLED',
    );
    assert.ok(seen < 200, `${seen} entries after the abort`);
  });

  it('stops the helper when the consumer stops early', async function () {
    const upper = path.join(tmp, 'upper');
    fs.mkdirSync(upper);
    for (let i = 0; i < 200; i++) fs.writeFileSync(path.join(upper, `f${i}`), Buffer.alloc(64 * 1024));
    let seen = 0;
    for await (const _ of scanUpperDir(upper)) {
      void _;
      if (++seen === 2) break;
    }
    assert.equal(seen, 2);
  });
});
