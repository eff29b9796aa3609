import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { digestOf, parseDigest } from '../../../server/src/engine/digest';
import { StrataError } from '../../../server/src/engine/errors';
import { MediaType } from '../../../server/src/engine/image/media-types';
import { fsck } from '../../../server/src/engine/store/fsck';
import { gc } from '../../../server/src/engine/store/gc';
import { ensureImageTrees } from '../../../server/src/engine/store/layer-trees';
import { openStore, Store } from '../../../server/src/engine/store/store';
import { cliBundle, requirePrerequisites, runCli, strataBox, useTempStrataHome } from '../../support';
import { makeDemoImage } from './helpers';

/** A pid that certainly belongs to no running process: one that just exited. */
function deadPid(): number {
  const r = spawnSync('sh', ['-c', 'echo $$']);
  return Number(r.stdout.toString().trim());
}

async function unpackAll(store: Store, name: string): Promise<string[]> {
  return ensureImageTrees(store, (await store.resolveImage(name)).layers);
}

describe('gc and fsck', function () {
  before(function () {
    requirePrerequisites(this, { files: [strataBox, cliBundle] });
  });
  const env = useTempStrataHome();

  it('gc keeps what names, cache entries and leases reach, removes the rest and stale temp files', async () => {
    const store = openStore(env.home);
    const kept = await makeDemoImage(store, env.workspace, 'strata/kept');
    const trees = await unpackAll(store, 'strata/kept');
    const dropped = await makeDemoImage(store, env.workspace, 'strata/dropped', 'other text');
    const droppedTrees = await unpackAll(store, 'strata/dropped');
    await store.untagImage('strata/dropped');
    const cached = await store.putBytes('a cached layer', MediaType.OciLayerGzip);
    store.putCacheEntry(digestOf('step key'), { layer: cached, diffId: digestOf('cached diff').toString() });
    const leased = await makeDemoImage(store, env.workspace, 'strata/leased', 'leased text');
    await store.untagImage('strata/leased');
    const release = await store.lease([parseDigest(leased.manifest.digest)]);
    const stale = path.join(store.paths.tmp, `ingest-${deadPid()}-0123456789ab`);
    fs.writeFileSync(stale, 'half a blob');
    const live = path.join(store.paths.tmp, `ingest-${process.pid}-0123456789ab`);
    fs.writeFileSync(live, 'being written');
    const foreign = path.join(store.paths.tmp, 'run-20260101-120000-abcdef-ab12');
    fs.mkdirSync(foreign);

    const report = await gc(store);
    assert.ok(report.removedBlobs >= 3, JSON.stringify(report)); // dropped's manifest, config, a layer
    assert.equal(report.removedTemp, 1);
    assert.ok(!fs.existsSync(stale));
    assert.ok(fs.existsSync(live), 'a temp file of a live process stays');
    assert.ok(fs.existsSync(foreign), 'names without an owner pid are never removed');
    for (const d of [
      kept.manifest,
      kept.config,
      ...kept.layers.map((l) => l.descriptor),
      cached,
      leased.manifest,
    ]) {
      assert.ok(store.hasBlob(parseDigest(d.digest)), `${d.digest} must stay`);
    }
    assert.ok(!store.hasBlob(parseDigest(dropped.manifest.digest)));
    for (const t of trees) assert.ok(fs.existsSync(t));
    const droppedOnly = droppedTrees.filter((t) => !trees.includes(t));
    assert.ok(droppedOnly.length > 0);
    for (const t of droppedOnly) assert.ok(!fs.existsSync(t), `${t} must be removed`);

    release();
    const after = await gc(store);
    assert.ok(!store.hasBlob(parseDigest(leased.manifest.digest)), 'released lease: gone at the next gc');
    assert.ok(after.removedBlobs >= 1);
    const clean = await fsck(store);
    assert.deepEqual([clean.problems, clean.stale], [[], []]);
  });

  it('gc refuses to sweep when a named manifest is unreadable', async () => {
    const store = openStore(env.home);
    const img = await makeDemoImage(store, env.workspace);
    const file = store.blobPath(parseDigest(img.manifest.digest));
    fs.chmodSync(file, 0o644);
    fs.writeFileSync(file, '{ not json');
    const orphan = await store.putBytes('orphan', 'application/octet-stream');
    await assert.rejects(
      gc(store),
      (e: unknown) => e instanceof StrataError && e.code === 'STORE' && /fsck/.test(e.hint ?? ''),
    );
    assert.ok(store.hasBlob(parseDigest(orphan.digest)), 'nothing removed');
  });

  it('fsck finds corrupt blobs, missing blobs, altered trees and stale temp files; --repair removes them', async () => {
    const store = openStore(env.home);
    const img = await makeDemoImage(store, env.workspace);
    const trees = await unpackAll(store, 'strata/demo');
    assert.deepEqual((await fsck(store)).problems, []);

    const layer = parseDigest(img.layers[1]!.descriptor.digest);
    fs.chmodSync(store.blobPath(layer), 0o644);
    fs.appendFileSync(store.blobPath(layer), 'x');
    fs.rmSync(path.join(trees[0]!, 'opt/app/a.txt'));
    fs.writeFileSync(path.join(store.paths.tmp, `layer-${deadPid()}-0123456789ab`), '');
    const cachedMissing = {
      mediaType: MediaType.OciLayerGzip,
      digest: digestOf('never stored').toString(),
      size: 1,
    };
    store.putCacheEntry(digestOf('k'), { layer: cachedMissing, diffId: digestOf('d').toString() });

    const report = await fsck(store);
    const text = [...report.problems, ...report.stale].map((p) => p.message).join('\n');
    assert.match(text, new RegExp(`blob ${layer} is corrupt`));
    assert.match(text, /image strata\/demo: needs corrupt blob/);
    assert.match(text, /layer tree [0-9a-f]{64}: .* \(altered\)/);
    assert.match(
      report.stale.map((p) => p.message).join('\n'),
      /tmp\/layer-\d+-0123456789ab: left by a process that is gone/,
    );
    assert.match(text, /cache entry [0-9a-f]{64}: blob sha256:[0-9a-f]{64} is missing/);

    const cli = await runCli(['fsck'], { env: { STRATA_HOME: env.home } });
    assert.equal(cli.code, 1, 'fsck exits 1 when something is broken');
    assert.match(cli.stdout, /problem\(s\)/);

    const repaired = await fsck(store, { repair: true });
    assert.ok(repaired.repaired >= 5);
    assert.deepEqual((await fsck(store)).problems, [], 'clean after --repair');
    assert.equal(store.findImage('strata/demo'), undefined, 'the broken name is gone');
    const cliAfter = await runCli(['fsck', '--json'], { env: { STRATA_HOME: env.home } });
    assert.equal(cliAfter.code, 0, cliAfter.stdout + cliAfter.stderr);
    assert.equal(JSON.parse(cliAfter.stdout.trim().split('\n').pop()!).problems, 0);
  });

  it('strata images and gc work from the CLI', async () => {
    const store = openStore(env.home);
    await makeDemoImage(store, env.workspace);
    await store.putBytes('orphan', 'application/octet-stream');
    const images = await runCli(['images'], { env: { STRATA_HOME: env.home } });
    assert.equal(images.code, 0, images.stderr);
    assert.match(images.stdout, /strata\/demo\s+[0-9a-f]{12}\s+2\s+/);
    const json = await runCli(['images', '--json'], { env: { STRATA_HOME: env.home } });
    assert.equal(JSON.parse(json.stdout.trim()).layers, 2);
    const out = await runCli(['gc'], { env: { STRATA_HOME: env.home } });
    assert.equal(out.code, 0, out.stderr);
    assert.match(out.stdout, /removed 1 blobs/);
  });
});
