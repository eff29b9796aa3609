// gc's housekeeping beside the sweep (store/README.md "Housekeeping"): temp entries that name no
// owner process once they are old (foreign downloads, scratch dirs of crashed runs, but never a
// running container's), copy-content digests whose source is gone, build logs beyond the last two
// of each image. Ages are made with utimes, the way a day-old file looks.
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { cachedCopyDigest } from '../../../server/src/engine/build/copy-digest-cache';
import { fsck } from '../../../server/src/engine/store/fsck';
import { gc } from '../../../server/src/engine/store/gc';
import { openStore, Store } from '../../../server/src/engine/store/store';
import { cliBundle, requirePrerequisites, runCli, strataBox, useTempStrataHome } from '../../support';
import { makeDemoImage } from './helpers';

const HOUR = 3600_000;

function age(p: string, ms: number): void {
  const t = new Date(Date.now() - ms);
  fs.utimesSync(p, t, t);
}

/** A pid that belongs to no running process: one that just exited. */
function deadPid(): number {
  return Number(spawnSync('sh', ['-c', 'echo $$']).stdout.toString().trim());
}

/** A lease file as store.lease() writes it, for a process that is alive (ours), taken `ms` ago. */
function liveLeaseTakenAgo(store: Store, ms: number): string {
  const file = path.join(store.paths.locks, `lease-r-${process.pid}-0123456789ab.json`);
  fs.writeFileSync(file, JSON.stringify({ pid: process.pid, roots: [] }));
  age(file, ms);
  return file;
}

describe('gc housekeeping: aged temp entries, copy digests, build logs', function () {
  before(function () {
    requirePrerequisites(this, { files: [strataBox, cliBundle] });
  });
  const env = useTempStrataHome();

  it('removes dead pulls’ partial downloads, day-old ownerless temp files and crashed runs’ scratch dirs, never a live run’s', async () => {
    const store = openStore(env.home);
    const tmp = (name: string) => path.join(store.paths.tmp, name);
    // A resumable download of a pull that died (store/blobs.ts partial-<pid>-<digest prefix>): the
    // owner pid rule, as for every temp name with a pid (gc is asked for space back).
    const dead = deadPid();
    fs.writeFileSync(tmp(`partial-${dead}-0123456789ab`), 'half a blob');
    // A file that names no owner (a foreign tool's): a day old goes.
    fs.writeFileSync(tmp('foreign-download'), 'old');
    age(tmp('foreign-download'), 25 * HOUR);
    fs.mkdirSync(tmp('download-bbbb'));
    fs.writeFileSync(tmp('download-bbbb/data'), 'fresh');
    age(tmp('download-bbbb'), 30 * HOUR); // the folder is old but its content was written now
    // Scratch dirs of runs: upper and work inside, as engine/run makes them (work's work 000).
    const runDir = (name: string, agoMs: number) => {
      fs.mkdirSync(tmp(`${name}/upper/etc`), { recursive: true });
      fs.mkdirSync(tmp(`${name}/work/work`), { recursive: true });
      fs.writeFileSync(tmp(`${name}/upper/etc/out`), 'x');
      fs.chmodSync(tmp(`${name}/work/work`), 0o000);
      for (const p of [`${name}/upper/etc/out`, `${name}/upper/etc`, `${name}/upper`, `${name}/work`, name])
        age(tmp(p), agoMs);
    };
    runDir('run-20260101-100000-aaaaaa-ab12', 3 * HOUR);
    runDir('run-20260101-120000-bbbbbb-cd34', 10 * 60_000);

    // No live lease: the three-hour-old run crashed; the ten-minute-old one may still be starting.
    const report = await gc(store);
    assert.equal(report.removedTemp, 3, JSON.stringify(report));
    assert.ok(!fs.existsSync(tmp(`partial-${dead}-0123456789ab`)));
    assert.ok(!fs.existsSync(tmp('foreign-download')));
    assert.ok(!fs.existsSync(tmp('run-20260101-100000-aaaaaa-ab12')));
    assert.ok(fs.existsSync(tmp('download-bbbb')), 'written to within the day');
    assert.ok(fs.existsSync(tmp('run-20260101-120000-bbbbbb-cd34')), 'younger than an hour');

    // A container that has run for four hours holds a lease: an older-looking dir may be its.
    runDir('run-20260101-090000-cccccc-ef56', 2 * HOUR);
    const lease = liveLeaseTakenAgo(store, 4 * HOUR);
    assert.equal((await gc(store)).removedTemp, 0, 'a dir younger than a live lease stays');
    fs.rmSync(lease);
    liveLeaseTakenAgo(store, 1 * HOUR);
    const stale = (await fsck(store)).stale.map((p) => p.message).join('\n');
    assert.match(
      stale,
      /tmp\/run-20260101-090000-cccccc-ef56: untouched for over an hour and no run holds it/,
    );
    assert.equal((await gc(store)).removedTemp, 1, 'older than every live lease: a crashed run');
    assert.ok(!fs.existsSync(tmp('run-20260101-090000-cccccc-ef56')));
  });

  it('removes copy-content digests of sources that are gone and keeps the others', async () => {
    const store = openStore(env.home);
    const sources = ['kept', 'gone'].map((n) => {
      const dir = path.join(env.workspace, n);
      fs.mkdirSync(dir);
      fs.writeFileSync(path.join(dir, 'f.txt'), n);
      return n;
    });
    // Out of the "racily clean" second (ctimes are now), so that the fingerprints are kept.
    await new Promise((r) => setTimeout(r, 1200));
    for (const src of sources)
      await cachedCopyDigest(env.home, env.workspace, src, async () => `sha256:${'a'.repeat(64)}`);
    assert.equal(fs.readdirSync(store.paths.copyContent).length, 2);
    fs.writeFileSync(path.join(store.paths.copyContent, 'f'.repeat(64)), 'not json');
    fs.writeFileSync(path.join(store.paths.copyContent, `${'e'.repeat(64)}.tmp-${deadPid()}-abcdef`), '{');
    fs.rmSync(path.join(env.workspace, 'gone'), { recursive: true });

    const report = await gc(store);
    assert.equal(report.removedCopyDigests, 3, JSON.stringify(report));
    const left = fs.readdirSync(store.paths.copyContent);
    assert.equal(left.length, 1);
    const entry = JSON.parse(fs.readFileSync(path.join(store.paths.copyContent, left[0]!), 'utf8')) as {
      source: string;
    };
    assert.equal(entry.source, path.join(env.workspace, 'kept'));
    // What is kept still saves the hashing.
    let hashed = false;
    await cachedCopyDigest(env.home, env.workspace, 'kept', async () => {
      hashed = true;
      return `sha256:${'b'.repeat(64)}`;
    });
    assert.equal(hashed, false);
  });

  it('keeps the last two build logs of each image, and none a day after the image is gone', async () => {
    const store = openStore(env.home);
    await makeDemoImage(store, env.workspace, 'strata/analysis');
    fs.mkdirSync(store.paths.logs);
    const log = (name: string, agoMs: number) => {
      fs.writeFileSync(path.join(store.paths.logs, name), `${name}\n`);
      age(path.join(store.paths.logs, name), agoMs);
    };
    log('analysis.log', 1 * HOUR);
    log('analysis.log.1', 2 * HOUR);
    log('analysis.log.2', 3 * HOUR);
    log('analysis.log.7', 4 * HOUR);
    log('removed.log', 30 * HOUR);
    log('removed.log.1', 40 * HOUR);
    log('failed-today.log', 2 * HOUR); // a first build that failed: no image, the log is read today
    log('notes.txt', 50 * HOUR); // not a build log

    const dry = await gc(store, { dryRun: true });
    assert.equal(dry.removedLogs, 4);
    assert.equal(fs.readdirSync(store.paths.logs).length, 8, '--dry-run removes nothing');
    const report = await gc(store);
    assert.equal(report.removedLogs, 4);
    assert.deepEqual(fs.readdirSync(store.paths.logs).sort(), [
      'analysis.log',
      'analysis.log.1',
      'failed-today.log',
      'notes.txt',
    ]);

    const cli = await runCli(['gc'], { env: { STRATA_HOME: env.home } });
    assert.equal(cli.code, 0, cli.stderr);
    assert.match(
      cli.stdout,
      /removed \d+ blobs, \d+ layer trees, 0 temp entries, 0 copy digests, 0 build logs/,
    );
  });
});
