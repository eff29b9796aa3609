// Hostile layer streams against strata-box apply. Each case runs in a fresh target directory next
// to an "outside" directory of sentinel files; whatever apply does with the stream, nothing around
// the target may change (contents, modes, owners, link counts, times, overlay xattrs). Every case
// runs with openat2 and again with the fallback component walk that older kernels get.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { StrataError } from '../../server/src/engine/errors';
import { applyEntries, type ApplySummary } from '../../server/src/engine/sandbox/apply';
import type { EntryWithData } from '../../server/src/engine/sandbox/entry';
import {
  encodeEnd,
  encodeEntries,
  encodeRecordHeader,
  encodeStreamHeader,
  RECORD_HEADER_SIZE,
} from '../../server/src/engine/sandbox/records';
import { makeTempDir, removeTree, requirePrerequisites, strataBox } from '../support';
import { dir, file, getXattr, hardlink, opaque, snapshot, symlink, whiteout } from './layer-support';

interface Ctx {
  /** Absolute path of the outside directory (holds secret, etc/passwd). */
  outside: string;
  target: string;
}

type Outcome = 'refused' | 'ok' | 'either';

interface Case {
  name: string;
  entries: (c: Ctx) => EntryWithData[];
  outcome: Outcome;
  /** Extra checks on the target after the run. */
  check?: (c: Ctx, summary: ApplySummary | undefined) => void;
}

const pwned = (p: string) => file(p, 'pwned');

const CASES: Case[] = [
  { name: 'a "../" path', entries: () => [pwned('../outside/secret')], outcome: 'refused' },
  { name: 'a ".." inside a path', entries: () => [pwned('a/../../outside/secret')], outcome: 'refused' },
  { name: 'an absolute path', entries: (c) => [pwned(`${c.outside}/secret`)], outcome: 'refused' },
  { name: 'a "." path for a file', entries: () => [pwned('.')], outcome: 'refused' },
  { name: 'an empty component', entries: () => [pwned('a//b')], outcome: 'refused' },
  { name: 'a NUL byte in a path', entries: () => [pwned('a\0/../../outside/secret')], outcome: 'refused' },
  {
    name: 'a symlink parent pointing outside (absolute)',
    entries: (c) => [symlink('evil', c.outside), pwned('evil/secret'), pwned('evil/new/deep')],
    outcome: 'either',
  },
  {
    name: 'a symlink parent pointing outside (relative)',
    entries: () => [symlink('evil', '../outside'), pwned('evil/secret')],
    outcome: 'either',
  },
  {
    name: 'a chain of symlinks climbing out',
    entries: (c) => [symlink('a', 'b'), symlink('b', `../../../../../../../..${c.outside}`), pwned('a/secret')],
    outcome: 'either',
  },
  {
    name: 'a symlink to "/" used as a parent',
    entries: (c) => [symlink('root', '/'), pwned(`root${c.outside}/secret`)],
    outcome: 'either',
  },
  {
    name: 'an absolute symlink resolved inside the root',
    entries: (c) => [dir(c.outside.slice(1)), symlink('evil', c.outside), file('evil/new', 'inside')],
    outcome: 'ok',
    check: (c) => {
      assert.equal(fs.readFileSync(path.join(c.target, c.outside.slice(1), 'new'), 'utf8'), 'inside');
    },
  },
  { name: 'a hardlink to "../"', entries: () => [hardlink('h', '../outside/secret')], outcome: 'refused' },
  { name: 'a hardlink to an absolute path', entries: (c) => [hardlink('h', `${c.outside}/secret`)], outcome: 'refused' },
  {
    name: 'a hardlink through a symlink pointing outside',
    entries: (c) => [symlink('evil', c.outside), hardlink('h', 'evil/secret'), pwned('h')],
    outcome: 'either',
  },
  { name: 'a hardlink to itself', entries: () => [hardlink('h', 'h')], outcome: 'refused' },
  { name: 'a hardlink to a directory', entries: () => [dir('d'), hardlink('h', 'd')], outcome: 'refused' },
  {
    name: 'a hardlink to a symlink links the symlink, not its target',
    entries: (c) => [symlink('l', `${c.outside}/secret`), hardlink('h', 'l')],
    outcome: 'ok',
    check: (c) => assert.equal(fs.readlinkSync(path.join(c.target, 'h')), `${c.outside}/secret`),
  },
  {
    name: 'a symlink replaced by a file',
    entries: (c) => [symlink('f', `${c.outside}/secret`), pwned('f')],
    outcome: 'ok',
    check: (c) => {
      assert.ok(fs.lstatSync(path.join(c.target, 'f')).isFile());
      assert.equal(fs.readFileSync(path.join(c.target, 'f'), 'utf8'), 'pwned');
    },
  },
  {
    name: 'a symlink replaced by a directory',
    entries: (c) => [symlink('d', c.outside), dir('d', { mode: 0o700 }), pwned('d/secret')],
    outcome: 'ok',
    check: (c) => assert.ok(fs.lstatSync(path.join(c.target, 'd')).isDirectory()),
  },
  {
    name: 'a directory swapped for a symlink',
    entries: (c) => [dir('d'), file('d/a', 'a'), symlink('d', c.outside), pwned('d/secret')],
    outcome: 'either',
  },
  {
    name: 'a whiteout over a symlink to outside',
    entries: (c) => [symlink('w', `${c.outside}/secret`), whiteout('w')],
    outcome: 'ok',
    check: (c) => assert.ok(fs.lstatSync(path.join(c.target, 'w')).isCharacterDevice()),
  },
  {
    name: 'an opaque marker on a symlink to outside',
    entries: (c) => [symlink('o', c.outside), opaque('o')],
    outcome: 'either',
  },
  {
    name: 'duplicate entries: the last one wins, a directory over a directory is kept',
    entries: () => [
      file('dup', 'one'),
      file('dup', 'two'),
      dir('dd'),
      file('dd/keep', 'k'),
      dir('dd', { mode: 0o700 }),
      file('x', 'file'),
      dir('x'),
      dir('y'),
      file('y/z', 'z'),
      file('y', 'now a file'),
    ],
    outcome: 'ok',
    check: (c) => {
      assert.equal(fs.readFileSync(path.join(c.target, 'dup'), 'utf8'), 'two');
      assert.equal(fs.readFileSync(path.join(c.target, 'dd/keep'), 'utf8'), 'k');
      assert.equal(fs.statSync(path.join(c.target, 'dd')).mode & 0o777, 0o700);
      assert.ok(fs.lstatSync(path.join(c.target, 'x')).isDirectory());
      assert.equal(fs.readFileSync(path.join(c.target, 'y'), 'utf8'), 'now a file');
    },
  },
  { name: 'a path over 4095 bytes', entries: () => [pwned('d/'.repeat(2100) + 'f')], outcome: 'refused' },
  { name: 'a component over 255 bytes', entries: () => [pwned('n'.repeat(256))], outcome: 'refused' },
  { name: 'a path deeper than 256 components', entries: () => [pwned('d/'.repeat(257) + 'f')], outcome: 'refused' },
  { name: 'a symlink target over 4095 bytes', entries: () => [symlink('l', 'x'.repeat(4096))], outcome: 'refused' },
  {
    name: 'overlay xattrs in the layer',
    entries: () => [
      file('f', 'x', {
        xattrs: {
          'user.overlay.opaque': Buffer.from('y'),
          'trusted.overlay.redirect': Buffer.from('/etc'),
          'user.kept': Buffer.from('1'),
        },
      }),
      dir('d', { xattrs: { 'user.overlay.opaque': Buffer.from('y') } }),
    ],
    outcome: 'ok',
    check: (c, summary) => {
      assert.equal(summary?.droppedOverlayXattrs, 3);
      assert.equal(getXattr(path.join(c.target, 'f'), 'user.overlay.opaque'), undefined);
      assert.equal(getXattr(path.join(c.target, 'f'), 'trusted.overlay.redirect'), undefined);
      assert.equal(getXattr(path.join(c.target, 'd'), 'user.overlay.opaque'), undefined);
      assert.deepEqual(getXattr(path.join(c.target, 'f'), 'user.kept'), Buffer.from('1'));
    },
  },
  {
    name: 'a 0:0 device that is not sent as a whiteout',
    entries: () => [{ entry: { type: 'char', path: 'c', mode: 0o600, uid: 0, gid: 0, mtime: 0, devmajor: 0, devminor: 0 } }],
    outcome: 'refused',
  },
];

for (const resolver of ['openat2', 'walk'] as const) {
  describe(`strata-box apply of hostile streams (${resolver})`, function () {
    let tmp: string;
    let ctx: Ctx;
    let previous: string | undefined;

    before(function () {
      requirePrerequisites(this, { files: [strataBox], commands: ['/usr/bin/python3'] });
      previous = process.env.STRATA_BOX_NO_OPENAT2;
      process.env.STRATA_BOX_NO_OPENAT2 = resolver === 'walk' ? '1' : '0';
    });
    after(function () {
      if (previous === undefined) delete process.env.STRATA_BOX_NO_OPENAT2;
      else process.env.STRATA_BOX_NO_OPENAT2 = previous;
    });
    beforeEach(function () {
      tmp = makeTempDir('hostile');
      ctx = { outside: path.join(tmp, 'outside'), target: path.join(tmp, 'layer') };
      fs.mkdirSync(ctx.target);
      fs.mkdirSync(path.join(ctx.outside, 'etc'), { recursive: true });
      fs.writeFileSync(path.join(ctx.outside, 'secret'), 'secret');
      fs.writeFileSync(path.join(ctx.outside, 'etc', 'passwd'), 'root:x:0:0::/root:/bin/sh\n');
    });
    afterEach(function () {
      removeTree(tmp);
    });

    it(`uses the ${resolver} resolver`, async function () {
      const summary = await applyEntries(ctx.target, [file('a', 'a')]);
      assert.equal(summary.resolver, resolver);
    });

    for (const c of CASES) {
      it(`${c.outcome === 'refused' ? 'refuses' : 'survives'} ${c.name}`, async function () {
        const before = snapshot(tmp, ctx.target);
        let summary: ApplySummary | undefined;
        let error: unknown;
        try {
          summary = await applyEntries(ctx.target, c.entries(ctx));
        } catch (e) {
          error = e;
        }
        assert.deepEqual(snapshot(tmp, ctx.target), before, 'something outside the target changed');
        assert.equal(getXattr(ctx.outside, 'user.overlay.opaque'), undefined);
        if (error !== undefined) {
          assert.ok(error instanceof StrataError, `not a StrataError: ${String(error)}`);
          assert.match(error.message, /strata-box apply: entry '/, 'the error names the entry');
          assert.equal(error.code, 'LAYER', `a hostile entry is the layer's fault: ${error.message}`);
        }
        if (c.outcome === 'refused') {
          assert.ok(error instanceof StrataError && error.code === 'LAYER', `expected a refusal, got ${String(error)}`);
        }
        if (c.outcome === 'ok') assert.equal(error, undefined, String(error));
        c.check?.(ctx, summary);
      });
    }
  });
}

/** strata-box apply fed raw bytes: the C reader's own checks, below the TypeScript encoder. */
describe('strata-box apply of malformed record streams', function () {
  let tmp: string;
  before(function () {
    requirePrerequisites(this, { files: [strataBox] });
  });
  beforeEach(function () {
    tmp = makeTempDir('malformed');
  });
  afterEach(function () {
    removeTree(tmp);
  });

  function applyRaw(bytes: Buffer) {
    const r = spawnSync(strataBox, ['apply', tmp], { input: bytes });
    return { code: r.status, stderr: r.stderr.toString() };
  }
  const header = (p: string, size = 0) =>
    encodeRecordHeader({ type: 'file', path: p, mode: 0o644, uid: 0, gid: 0, mtime: 0, size });

  it('refuses a foreign stream and another protocol version', function () {
    let r = applyRaw(Buffer.from('not a record stream at all'));
    assert.equal(r.code, 250);
    assert.match(r.stderr, /not a strata record stream \(bad magic\)/);
    const v2 = encodeStreamHeader();
    v2.writeUInt16LE(2, 4);
    r = applyRaw(Buffer.concat([v2, encodeEnd()]));
    assert.equal(r.code, 250);
    assert.match(r.stderr, /version 2 is not supported/);
  });

  it('refuses a stream cut inside file data, naming the entry', function () {
    const r = applyRaw(Buffer.concat([encodeStreamHeader(), header('f', 100), Buffer.from('short')]));
    assert.equal(r.code, 250);
    assert.match(r.stderr, /entry 0 'f': input ended inside the file data \(95 bytes missing\)/);
  });

  it('refuses a stream without an end record', function () {
    const r = applyRaw(Buffer.concat([encodeStreamHeader(), header('f', 1), Buffer.from('x')]));
    assert.equal(r.code, 250);
    assert.match(r.stderr, /no end record: the stream was cut short/);
  });

  it('refuses reserved fields and data on a directory', function () {
    const reserved = header('f');
    reserved[1] = 1;
    let r = applyRaw(Buffer.concat([encodeStreamHeader(), reserved, encodeEnd()]));
    assert.equal(r.code, 247);
    assert.match(r.stderr, /non-zero reserved fields/);
    const dirWithData = encodeRecordHeader({ type: 'dir', path: 'd', mode: 0o755, uid: 0, gid: 0, mtime: 0 });
    dirWithData.writeBigUInt64LE(4n, 32);
    r = applyRaw(Buffer.concat([encodeStreamHeader(), dirWithData, Buffer.from('data'), encodeEnd()]));
    assert.equal(r.code, 247);
    assert.match(r.stderr, /entry 0 'd': only a regular file may carry data/);
  });

  it('refuses a mode with file-type bits and an unknown kind', function () {
    const typed = header('f');
    typed.writeUInt32LE(0o100644, 8);
    let r = applyRaw(Buffer.concat([encodeStreamHeader(), typed, encodeEnd()]));
    assert.equal(r.code, 247);
    assert.match(r.stderr, /mode 100644 has bits beyond 07777/);
    const unknown = header('f');
    unknown[0] = 'Q'.charCodeAt(0);
    r = applyRaw(Buffer.concat([encodeStreamHeader(), unknown, encodeEnd()]));
    assert.equal(r.code, 247);
    assert.match(r.stderr, /unknown record kind 0x51/);
  });

  it('refuses a malformed xattr block', function () {
    const rec = header('f');
    rec.writeUInt32LE(3, 48);
    const r = applyRaw(Buffer.concat([encodeStreamHeader(), rec, Buffer.from('f'), Buffer.from([1, 0, 9]), encodeEnd()]));
    assert.equal(r.code, 247);
    assert.match(r.stderr, /malformed xattr block/);
    assert.equal(rec.length, RECORD_HEADER_SIZE + 1);
  });

  it('answers a sound stream with a summary end record', async function () {
    const parts: Buffer[] = [];
    for await (const p of encodeEntries([file('ok', 'ok')])) parts.push(p);
    const r = spawnSync(strataBox, ['apply', tmp], { input: Buffer.concat(parts) });
    assert.equal(r.status, 0, r.stderr.toString());
    const out = r.stdout;
    assert.equal(out.toString('latin1', 0, 4), 'STRB');
    assert.equal(out.toString('latin1', 8, 9), 'E');
    const summary = JSON.parse(out.subarray(8 + RECORD_HEADER_SIZE).toString()) as Record<string, unknown>;
    assert.equal(summary.ok, true);
    assert.equal(summary.files, 1);
  });
});
