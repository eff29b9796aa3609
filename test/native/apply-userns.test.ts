// apply and scan with --userns: inside the user namespace `strata-box run` would make, a layer's
// owners are applied as the container sees them and read back as container ids. As root the test
// runs the helper as the user with a subordinate range (strata-test-range, ids 400000+); rootless
// (the single-id user) only container root can be given, and the rest is counted.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { applyEntries } from '../../server/src/engine/sandbox/apply';
import type { EntryWithData, LayerEntry } from '../../server/src/engine/sandbox/entry';
import { decodeRecords, encodeEntries } from '../../server/src/engine/sandbox/records';
import { scanUpperDir } from '../../server/src/engine/sandbox/scan';
import { asUserArgv, isRoot, makeTempDir, RANGE_USER, removeTree, requirePrerequisites, strataBox, uidOf } from '../support';
import { file } from './layer-support';

const LAYER: EntryWithData[] = [
  file('root-owned', 'r'),
  file('daemon-owned', 'd', { uid: 1, gid: 1 }),
  file('apt-owned', 'a', { uid: 100, gid: 65534 }),
  file('secret', 's', { mode: 0o000, uid: 1000, gid: 1000 }),
];

async function bytesOf(entries: EntryWithData[]): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const p of encodeEntries(entries)) parts.push(p);
  return Buffer.concat(parts);
}

async function decodeAll(bytes: Buffer): Promise<{ entries: LayerEntry[]; summary: Record<string, unknown> }> {
  const entries: LayerEntry[] = [];
  async function* one() {
    yield bytes;
  }
  for await (const rec of decodeRecords(one())) {
    if ('kind' in rec) return { entries, summary: rec.summary };
    entries.push(rec.entry);
  }
  throw new Error('no end record');
}

describe('strata-box apply and scan in the container user namespace (--userns)', function () {
  let tmp: string;
  before(function () {
    requirePrerequisites(this, { files: [strataBox], commands: ['newuidmap', 'newgidmap'] });
  });
  beforeEach(function () {
    tmp = makeTempDir('userns');
    fs.chmodSync(tmp, 0o755);
  });
  afterEach(function () {
    removeTree(tmp);
  });

  // Switching to the range user needs root; the rootless run of this suite (as the single-id user)
  // has the test below instead.
  const asRoot = isRoot() ? it : undefined;
  asRoot?.('as root: applies and reads back the owners of a subordinate-range user', async function () {
    const target = path.join(tmp, 'layer');
    fs.mkdirSync(target);
    fs.chownSync(target, uidOf(RANGE_USER), uidOf(RANGE_USER));
    const [cmd, args] = asUserArgv(strataBox, ['apply', '--userns', target], RANGE_USER);
    const applied = spawnSync(cmd, args, { input: await bytesOf(LAYER) });
    assert.equal(applied.status, 0, applied.stderr.toString());
    const summary = (await decodeAll(applied.stdout)).summary;
    assert.equal(summary.ownershipNotApplied, 0);

    const user = uidOf(RANGE_USER);
    const owner = (name: string) => fs.lstatSync(path.join(target, name)).uid;
    assert.equal(owner('root-owned'), user, 'container root is the user');
    assert.equal(owner('daemon-owned'), 400000, 'container id 1 is the first subordinate id');
    assert.equal(owner('apt-owned'), 400099);
    assert.equal(fs.lstatSync(path.join(target, 'apt-owned')).gid, 400000 + 65534 - 1);
    assert.equal(owner('secret'), 400999);

    const [scmd, sargs] = asUserArgv(strataBox, ['scan', '--userns', target], RANGE_USER);
    const scanned = spawnSync(scmd, sargs);
    assert.equal(scanned.status, 0, scanned.stderr.toString());
    const { entries } = await decodeAll(scanned.stdout);
    const ids = Object.fromEntries(entries.map((e) => [e.path, `${e.uid}:${e.gid}`]));
    assert.deepEqual(ids, {
      '.': '0:0',
      'apt-owned': '100:65534',
      'daemon-owned': '1:1',
      'root-owned': '0:0',
      secret: '1000:1000',
    });
  });

  asRoot?.('as root: scan --single-id maps the range user alone, as a build step ran', async function () {
    // A step's upper dir holds only the user's own files; the others here stand for what a
    // single-id container could not have made, and are counted rather than mapped through the range.
    const target = path.join(tmp, 'upper');
    fs.mkdirSync(target);
    fs.chownSync(target, uidOf(RANGE_USER), uidOf(RANGE_USER));
    const [cmd, args] = asUserArgv(strataBox, ['apply', '--userns', target], RANGE_USER);
    const applied = spawnSync(cmd, args, { input: await bytesOf(LAYER.filter((e) => e.entry.path !== 'secret')) });
    assert.equal(applied.status, 0, applied.stderr.toString());
    const scan = (flags: string[]) => {
      const [scmd, sargs] = asUserArgv(strataBox, ['scan', ...flags, target], RANGE_USER);
      return spawnSync(scmd, sargs);
    };
    const single = scan(['--userns', '--single-id']);
    assert.equal(single.status, 0, single.stderr.toString());
    const { entries, summary } = await decodeAll(single.stdout);
    assert.deepEqual(Object.fromEntries(entries.map((e) => [e.path, `${e.uid}:${e.gid}`])), {
      '.': '0:0',
      'apt-owned': '65534:65534',
      'daemon-owned': '65534:65534',
      'root-owned': '0:0',
    });
    assert.equal(summary.unmappedOwners, 4, 'the uid and gid of two entries');
    const bare = scan(['--single-id']);
    assert.equal(bare.status, 240, 'a usage error');
    assert.match(bare.stderr.toString(), /--single-id chooses the mapping of --userns; add --userns/);
  });

  it('rootless or as root: container root is applied, other owners are counted, unreadable files are read', async function () {
    const target = path.join(tmp, 'layer');
    fs.mkdirSync(target);
    const summary = await applyEntries(target, LAYER, { userns: true });
    const me = process.getuid!();
    if (isRoot()) {
      assert.equal(summary.ownershipNotApplied, 0, 'real root applies every owner itself');
      assert.equal(fs.lstatSync(path.join(target, 'apt-owned')).uid, 100);
      return;
    }
    assert.equal(summary.ownershipNotApplied, 3, 'ids 1, 100 and 1000 are outside a single-id mapping');
    for (const name of ['root-owned', 'apt-owned', 'secret']) assert.equal(fs.lstatSync(path.join(target, name)).uid, me);
    assert.equal(fs.lstatSync(path.join(target, 'secret')).mode & 0o777, 0);

    // Without the namespace a mode-000 file cannot be read; inside it, root may.
    await assert.rejects(async () => {
      for await (const { data } of scanUpperDir(target))
        if (data && !(data instanceof Uint8Array)) for await (const _ of data) void _;
    }, /entry 'secret': opening file: Permission denied/);
    const texts: Record<string, string> = {};
    for await (const { entry, data } of scanUpperDir(target, { userns: true })) {
      assert.equal(entry.uid, 0, `${entry.path} is container root's`);
      if (data && !(data instanceof Uint8Array)) {
        const parts: Buffer[] = [];
        for await (const c of data) parts.push(Buffer.from(c));
        texts[entry.path] = Buffer.concat(parts).toString();
      }
    }
    assert.equal(texts.secret, 's');
  });
});
