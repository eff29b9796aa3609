// The copy step's content digest is kept with a fingerprint of its sources' stat data
// (server/src/engine/build/copy-digest-cache.ts): a no-change build does not read the files, and
// every change must still be seen, including one that restores size and mtime. Through the CLI,
// as root and as the unprivileged user.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { cliBundle, requirePrerequisites, strataBox, useTempStrataHome } from '../support';
import { ok, stepStatuses, strata, writeSpec } from './helpers';

const SPEC = `strata: 1
name: copycache
from: docker.io/library/busybox:1.35
steps:
  - copy: { src: ./src, dest: /opt/app }
workloads:
  show:
    command: [cat, /opt/app/data.txt]
`;

// Files written less than a second ago are not trusted to the cache (the "racily clean" rule):
// let the clock move past them, so that the first build keeps its fingerprint.
const OLD_TIME = 1_700_000_000;
const pastRacyWindow = () => new Promise((r) => setTimeout(r, 1200));

function cacheEntries(home: string): string[] {
  const dir = path.join(home, 'cache', 'copy-content');
  return fs.existsSync(dir) ? fs.readdirSync(dir).map((n) => path.join(dir, n)) : [];
}

describe('build: copy step content cache', function () {
  before(function () {
    requirePrerequisites(this, {
      commands: ['docker-registry', 'skopeo', 'umoci'],
      files: [cliBundle, strataBox],
    });
  });
  const env = useTempStrataHome();

  async function setUp(): Promise<{ dir: string; file: string }> {
    const dir = path.join(env.workspace, 'copycache');
    writeSpec(dir, SPEC);
    fs.mkdirSync(path.join(dir, 'src'));
    const file = path.join(dir, 'src', 'data.txt');
    fs.writeFileSync(file, 'version A\n');
    fs.utimesSync(file, OLD_TIME, OLD_TIME); // whole seconds, so that they can be put back exactly
    await pastRacyWindow();
    ok(await strata(['build', '--json'], env.home, dir), 'first build');
    assert.equal(cacheEntries(env.home).length, 1, 'the first build keeps one fingerprint');
    return { dir, file };
  }

  async function shows(dir: string): Promise<string> {
    const r = await strata(['run', 'show'], env.home, dir);
    ok(r, 'run');
    return r.stdout;
  }

  it('a no-change rebuild takes the copy step from the cache', async function () {
    const { dir } = await setUp();
    const again = await strata(['build', '--json'], env.home, dir);
    ok(again, 'rebuild');
    assert.deepEqual(stepStatuses(again.stdout), ['cached']);
  });

  it('sees new content of the same size with the old mtime put back (ctime and inode differ)', async function () {
    const { dir, file } = await setUp();
    const before = fs.statSync(file);
    fs.writeFileSync(file, 'version B\n'); // same size
    fs.utimesSync(file, OLD_TIME, OLD_TIME);
    const after = fs.statSync(file);
    assert.equal(after.size, before.size);
    assert.equal(after.mtimeMs, before.mtimeMs);
    const r = await strata(['build', '--json'], env.home, dir);
    ok(r, 'build after the edit');
    assert.deepEqual(stepStatuses(r.stdout), ['done']);
    assert.equal(await shows(dir), 'version B\n');
  });

  it('sees a file replaced by another of the same size and mtime (a new inode)', async function () {
    const { dir, file } = await setUp();
    const before = fs.statSync(file);
    assert.equal(before.mtimeMs, OLD_TIME * 1000);
    const other = path.join(dir, 'other.txt');
    fs.writeFileSync(other, 'version C\n');
    fs.utimesSync(other, OLD_TIME, OLD_TIME);
    fs.renameSync(other, file);
    const r = await strata(['build', '--json'], env.home, dir);
    ok(r, 'build after the replacement');
    assert.deepEqual(stepStatuses(r.stdout), ['done']);
    assert.equal(await shows(dir), 'version C\n');
  });

  it('a stale or damaged cache entry is not trusted: the files are hashed again', async function () {
    const { dir, file } = await setUp();
    const [entryFile] = cacheEntries(env.home);
    const kept = JSON.parse(fs.readFileSync(entryFile, 'utf8')) as { fingerprint: string; digest: string };
    // Stale: the entry names a digest the sources no longer have, and the sources changed since.
    fs.writeFileSync(file, 'version D, longer\n');
    const r1 = await strata(['build', '--json'], env.home, dir);
    ok(r1, 'build after the edit');
    assert.deepEqual(stepStatuses(r1.stdout), ['done']);
    assert.equal(await shows(dir), 'version D, longer\n');
    // Damaged: garbage in the entry means hashing again, and the build still gives the same layer.
    fs.writeFileSync(entryFile, '{not json');
    const r2 = await strata(['build', '--json'], env.home, dir);
    ok(r2, 'build with a damaged entry');
    assert.deepEqual(stepStatuses(r2.stdout), ['cached']);
    // A forged entry with the current fingerprint is what the cache would trust; one with another
    // fingerprint must not be: put back the old (now stale) entry and the build hashes again.
    fs.writeFileSync(entryFile, JSON.stringify(kept));
    const r3 = await strata(['build', '--json'], env.home, dir);
    ok(r3, 'build with a stale entry');
    assert.deepEqual(stepStatuses(r3.stdout), ['cached']);
    assert.equal(await shows(dir), 'version D, longer\n');
  });

  it('sees a file added or removed, and a change of .strataignore', async function () {
    const { dir } = await setUp();
    fs.writeFileSync(path.join(dir, 'src', 'extra.txt'), 'x\n');
    const added = await strata(['build', '--json'], env.home, dir);
    ok(added, 'build after adding a file');
    assert.deepEqual(stepStatuses(added.stdout), ['done']);
    fs.writeFileSync(path.join(dir, '.strataignore'), 'src/extra.txt\n');
    const ignored = await strata(['build', '--json'], env.home, dir);
    ok(ignored, 'build after ignoring it');
    assert.deepEqual(stepStatuses(ignored.stdout), ['cached'], 'the first layer again, from the step cache');
    fs.rmSync(path.join(dir, 'src', 'extra.txt'));
    fs.rmSync(path.join(dir, '.strataignore'));
    const removed = await strata(['build', '--json'], env.home, dir);
    ok(removed, 'build after removing it');
    assert.deepEqual(stepStatuses(removed.stdout), ['cached']);
    assert.equal(await shows(dir), 'version A\n');
  });
});
