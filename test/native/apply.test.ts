// strata-box apply through applyEntries: what a layer holds lands in the directory with its
// metadata, whiteouts and opaque dirs are the ones overlayfs honours (checked by mounting real
// overlays of applied trees), failures name the entry, and cancellation stops the helper.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { StrataError } from '../../server/src/engine/errors';
import { applyEntries } from '../../server/src/engine/sandbox/apply';
import type { EntryWithData } from '../../server/src/engine/sandbox/entry';
import { encodeEntries } from '../../server/src/engine/sandbox/records';
import { isRoot, makeTempDir, removeTree, requirePrerequisites, strataBox } from '../support';
import { dir, file, getXattr, hardlink, inUserNamespace, opaque, symlink, whiteout } from './layer-support';

describe('strata-box apply', function () {
  let tmp: string;
  let target: string;

  before(function () {
    requirePrerequisites(this, { files: [strataBox], commands: ['unshare', '/usr/bin/python3'] });
  });
  beforeEach(function () {
    tmp = makeTempDir('apply');
    target = path.join(tmp, 'layer');
    fs.mkdirSync(target);
  });
  afterEach(function () {
    removeTree(tmp);
  });

  it('unpacks every kind of entry with its mode, owner, time and xattrs', async function () {
    const entries: EntryWithData[] = [
      dir('.', { mode: 0o755 }),
      dir('ro', { mode: 0o555, mtime: 1_000_000_000 }),
      file('ro/inside', 'x'), // a read-only directory is still filled (modes are set at the end)
      file('bin/tool', '#!/bin/sh\n', { mode: 0o4755, uid: 12, gid: 34, mtimeNs: 1_234_567_890_123_456_789n }),
      file('data', 'payload', { xattrs: { 'user.origin': Buffer.from('layer') } }),
      symlink('bin/sh', 'busybox'),
      hardlink('bin/tool2', 'bin/tool'),
      { entry: { type: 'fifo', path: 'run/fifo', mode: 0o600, uid: 0, gid: 0, mtime: 1_600_000_000 } },
      { entry: { type: 'char', path: 'dev/null', mode: 0o666, uid: 0, gid: 0, mtime: 0, devmajor: 1, devminor: 3 } },
    ];
    const summary = await applyEntries(target, entries);

    assert.equal(summary.entries, entries.length);
    assert.equal(summary.bytes, 1 + 10 + 7);
    const ro = fs.statSync(path.join(target, 'ro'));
    assert.equal(ro.mode & 0o7777, 0o555);
    assert.equal(ro.mtimeMs, 1_000_000_000_000, 'the directory time survives its children');
    assert.equal(fs.readFileSync(path.join(target, 'ro/inside'), 'utf8'), 'x');
    const tool = fs.statSync(path.join(target, 'bin/tool'), { bigint: true });
    assert.equal(tool.mtimeNs, 1_234_567_890_123_456_789n);
    assert.equal(Number(tool.mode) & 0o7777, 0o4755);
    assert.equal(fs.statSync(path.join(target, 'bin/tool2')).ino, Number(tool.ino));
    assert.equal(fs.readlinkSync(path.join(target, 'bin/sh')), 'busybox');
    assert.ok(fs.lstatSync(path.join(target, 'run/fifo')).isFIFO());
    assert.deepEqual(getXattr(path.join(target, 'data'), 'user.origin'), Buffer.from('layer'));
    assert.equal(fs.statSync(path.join(target, 'bin')).mode & 0o7777, 0o755, 'implicit parents are 0755');

    if (isRoot()) {
      assert.equal(Number(tool.uid), 12);
      assert.equal(Number(tool.gid), 34);
      const dev = fs.lstatSync(path.join(target, 'dev/null'));
      assert.ok(dev.isCharacterDevice());
      assert.equal(dev.rdev, 0x103);
      assert.equal(summary.skippedDevices, 0);
      assert.equal(summary.ownershipNotApplied, 0);
    } else {
      assert.equal(Number(tool.uid), process.getuid!(), 'rootless: files belong to the invoking user');
      assert.equal(summary.ownershipNotApplied, 1, 'bin/tool, the one entry not owned by 0:0');
      assert.equal(summary.skippedDevices, 1);
      assert.equal(fs.existsSync(path.join(target, 'dev/null')), false);
    }
  });

  it('sets security.capability and trusted.* xattrs where it may, and counts them where not', async function () {
    const v2 = Buffer.from('0100000200200000000000000000000000000000', 'hex'); // cap_net_raw=ep
    const summary = await applyEntries(target, [
      file('ping', 'elf', { mode: 0o755, xattrs: { 'security.capability': v2, 'trusted.note': Buffer.from('t') } }),
    ]);
    if (isRoot()) {
      assert.deepEqual(getXattr(path.join(target, 'ping'), 'security.capability'), v2);
      assert.deepEqual(getXattr(path.join(target, 'ping'), 'trusted.note'), Buffer.from('t'));
      assert.equal(summary.skippedXattrs, 0);
    } else {
      assert.equal(getXattr(path.join(target, 'ping'), 'security.capability'), undefined);
      assert.equal(summary.skippedXattrs, 2, 'a plain user may set neither');
    }
  });

  it('writes whiteouts and opaque dirs that a real overlay mount honours', async function () {
    const lower = path.join(tmp, 'lower');
    const upper = path.join(tmp, 'upper');
    fs.mkdirSync(lower);
    fs.mkdirSync(upper);
    await applyEntries(lower, [
      file('gone', 'old'),
      file('keep', 'kept'),
      dir('cache'),
      file('cache/old1', '1'),
      file('cache/old2', '2'),
      file('etc/conf', 'c'),
    ]);
    const summary = await applyEntries(upper, [
      whiteout('gone'),
      dir('cache'),
      opaque('cache'),
      file('cache/new', 'n'),
      whiteout('etc/conf'),
    ]);
    assert.equal(summary.whiteouts, 2);
    assert.equal(summary.opaques, 1);
    const wh = fs.lstatSync(path.join(upper, 'gone'));
    assert.ok(wh.isCharacterDevice() && wh.rdev === 0, 'a whiteout is a 0:0 character device');
    assert.deepEqual(getXattr(path.join(upper, 'cache'), 'user.overlay.opaque'), Buffer.from('y'));

    // Overlay of the two trees, top first; the rootless form (userxattr) everywhere, and as root
    // also the trusted form, in a private mount namespace so nothing stays mounted.
    const list = 'find m -mindepth 1 | sort | tr "\\n" " "';
    const expected = 'm/cache m/cache/new m/etc m/keep ';
    fs.mkdirSync(path.join(tmp, 'm'));
    const rootless = inUserNamespace(
      `mount -t overlay overlay -o userxattr,lowerdir=upper:lower m; ${list}`,
      tmp,
    );
    assert.equal(rootless, expected);
    if (isRoot()) {
      assert.deepEqual(getXattr(path.join(upper, 'cache'), 'trusted.overlay.opaque'), Buffer.from('y'));
      const { execFileSync } = await import('node:child_process');
      const trusted = execFileSync(
        'unshare',
        ['-m', 'sh', '-euc', `mount -t overlay overlay -o lowerdir=upper:lower m; ${list}`],
        { cwd: tmp },
      ).toString();
      assert.equal(trusted, expected);
    }
  });

  it('works as root of a user namespace: user.* opaque markers, unmapped owners counted', async function () {
    const parts: Buffer[] = [];
    for await (const p of encodeEntries([dir('d'), opaque('d'), file('d/f', 'x', { uid: 7, gid: 7 })])) parts.push(p);
    fs.writeFileSync(path.join(tmp, 'stream'), Buffer.concat(parts));
    const r = spawnSync('unshare', ['-Ur', 'sh', '-c', `exec ${strataBox} apply layer < stream`], { cwd: tmp });
    assert.equal(r.status, 0, r.stderr.toString());
    const summary = JSON.parse(r.stdout.subarray(8 + 56).toString()) as Record<string, number>;
    assert.equal(summary.ownershipNotApplied, 1);
    assert.deepEqual(getXattr(path.join(target, 'd'), 'user.overlay.opaque'), Buffer.from('y'));
    assert.equal(getXattr(path.join(target, 'd'), 'trusted.overlay.opaque'), undefined);
  });

  it('stops at the first bad entry and names it', async function () {
    await assert.rejects(
      applyEntries(target, [file('ok', 'fine'), hardlink('bad', 'missing/source'), file('never', 'x')], {
        where: 'layer sha256:abc',
      }),
      (e: unknown) =>
        e instanceof StrataError &&
        e.code === 'LAYER' &&
        e.message.startsWith("layer sha256:abc: strata-box apply: entry 'bad': hardlink source 'missing/source'") &&
        e.hint !== undefined,
    );
    assert.equal(fs.existsSync(path.join(target, 'never')), false, 'nothing after the bad entry is written');
  });

  it('tells a full disk (the machine, exit 251) from a bad layer (exit 247)', async function () {
    const parts: Buffer[] = [];
    for await (const p of encodeEntries([file('big', Buffer.alloc(256 * 1024))])) parts.push(p);
    fs.writeFileSync(path.join(tmp, 'stream'), Buffer.concat(parts));
    fs.mkdirSync(path.join(tmp, 'small'));
    const r = spawnSync(
      'unshare',
      ['-Urm', 'sh', '-c', `mount -t tmpfs -o size=64k t small && exec ${strataBox} apply small < stream`],
      { cwd: tmp },
    );
    assert.equal(r.status, 251, r.stderr.toString());
    assert.match(r.stderr.toString(), /entry 0 'big': writing file data: No space left on device/);
  });

  it('passes on the error of a failing entry source and stops the helper', async function () {
    async function* failing(): AsyncGenerator<EntryWithData> {
      yield file('a', 'a');
      throw new StrataError('DIGEST', 'layer sha256:abc does not match its digest');
    }
    await assert.rejects(applyEntries(target, failing()), (e: unknown) => e instanceof StrataError && e.code === 'DIGEST');
  });

  it('is cancelled by its signal while the entries are still coming', async function () {
    const controller = new AbortController();
    async function* slow(): AsyncGenerator<EntryWithData> {
      for (let i = 0; ; i++) {
        yield file(`f${i}`, 'x');
        if (i === 3) setTimeout(() => controller.abort(), 10);
        await new Promise((r) => setTimeout(r, 5));
      }
    }
    await assert.rejects(
      applyEntries(target, slow(), { signal: controller.signal }),
      (e: unknown) => e instanceof StrataError && e.code === 'CANCELLED',
    );
  });

  it('refuses a target that is not a directory, with the usage exit', async function () {
    await assert.rejects(
      applyEntries(path.join(tmp, 'missing'), [file('a', 'a')]),
      (e: unknown) => e instanceof StrataError && /cannot open target directory .*missing/.test(e.message),
    );
  });
});
