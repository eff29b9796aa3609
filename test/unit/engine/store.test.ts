import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { digestOf, parseDigest } from '../../../server/src/engine/digest';
import { StrataError } from '../../../server/src/engine/errors';
import { MediaType } from '../../../server/src/engine/image/media-types';
import { openStore, Store } from '../../../server/src/engine/store/store';
import { defaultStrataHome } from '../../../server/src/engine/store/paths';
import { makeTempDir, removeTree } from '../../support';

describe('store', () => {
  let dir: string;
  let store: Store;
  beforeEach(() => {
    dir = makeTempDir('store');
    store = openStore(path.join(dir, 'home'));
  });
  afterEach(() => removeTree(dir));

  it('lays out an OCI image layout and the strata folders', () => {
    const home = store.home;
    assert.deepEqual(JSON.parse(fs.readFileSync(path.join(home, 'oci', 'oci-layout'), 'utf8')), {
      imageLayoutVersion: '1.0.0',
    });
    assert.deepEqual(JSON.parse(fs.readFileSync(path.join(home, 'oci', 'index.json'), 'utf8')).manifests, []);
    for (const d of ['oci/blobs/sha256', 'layers/sha256', 'cache', 'runs', 'tmp']) {
      assert.ok(fs.statSync(path.join(home, d)).isDirectory(), d);
    }
  });

  it('picks STRATA_HOME, then XDG_DATA_HOME, then ~/.local/share', () => {
    assert.equal(defaultStrataHome({ STRATA_HOME: '/x/y' }), '/x/y');
    assert.equal(defaultStrataHome({ XDG_DATA_HOME: '/d' }), '/d/strata');
    assert.equal(defaultStrataHome({ HOME: '/h' }), '/h/.local/share/strata');
  });

  it('ingests a blob atomically, read-only, under its digest', async () => {
    const data = Buffer.from('hello blob');
    const r = await store.ingestBlob([data.subarray(0, 3), data.subarray(3)], {
      expected: digestOf(data),
      size: data.length,
    });
    assert.equal(r.written, true);
    assert.ok(store.hasBlob(r.digest));
    assert.equal((await store.readBlob(r.digest)).toString(), 'hello blob');
    assert.equal(fs.statSync(store.blobPath(r.digest)).mode & 0o777, 0o444);
    assert.deepEqual(
      fs.readdirSync(store.paths.tmp).filter((n) => n.startsWith('ingest')),
      [],
    );
    const again = await store.ingestBlob([data], { expected: digestOf(data) });
    assert.equal(again.written, false);
  });

  it('stores nothing when the digest does not match, and names both digests', async () => {
    const wrong = digestOf('something else');
    await assert.rejects(
      store.ingestBlob([Buffer.from('hello')], { expected: wrong, where: 'docker.io/x/y:1' }),
      (e: unknown) =>
        e instanceof StrataError &&
        e.code === 'DIGEST' &&
        e.message.includes(wrong.toString()) &&
        e.message.includes(digestOf('hello').toString()) &&
        e.message.includes('docker.io/x/y:1'),
    );
    assert.equal(store.hasBlob(digestOf('hello')), false);
    assert.deepEqual(fs.readdirSync(store.paths.blobs), []);
    assert.deepEqual(
      fs.readdirSync(store.paths.tmp).filter((n) => n.startsWith('ingest')),
      [],
    );
  });

  it('stores nothing when the size is wrong (short or long)', async () => {
    const data = Buffer.from('hello');
    await assert.rejects(store.ingestBlob([data], { expected: digestOf(data), size: 4 }), /larger than/);
    await assert.rejects(
      store.ingestBlob([data], { expected: digestOf(data), size: 6 }),
      /has 5 bytes, expected 6/,
    );
    assert.deepEqual(fs.readdirSync(store.paths.blobs), []);
  });

  it('names images in index.json with org.opencontainers.image.ref.name and resolves them', async () => {
    const layerBytes = Buffer.from('not really a tar');
    const layer = await store.putBytes(layerBytes, MediaType.OciLayerGzip);
    const config = await store.putJson(
      {
        architecture: 'amd64',
        os: 'linux',
        rootfs: { type: 'layers', diff_ids: [digestOf('x').toString()] },
      },
      MediaType.OciConfig,
    );
    const manifest = await store.putJson(
      { schemaVersion: 2, mediaType: MediaType.OciManifest, config, layers: [layer] },
      MediaType.OciManifest,
    );
    await store.tagImage('strata/demo', manifest);
    await store.tagImage('docker.io/library/debian:bookworm', manifest);
    await store.tagImage('strata/demo', manifest); // re-tagging replaces, not duplicates
    const index = JSON.parse(fs.readFileSync(store.paths.indexJson, 'utf8'));
    assert.deepEqual(
      index.manifests.map(
        (m: { annotations: Record<string, string> }) => m.annotations['org.opencontainers.image.ref.name'],
      ),
      ['docker.io/library/debian:bookworm', 'strata/demo'],
    );
    const img = await store.resolveImage('strata/demo');
    assert.equal(img.digest.toString(), manifest.digest);
    assert.equal(img.layers.length, 1);
    assert.ok(img.layers[0]!.diffId.equals(digestOf('x')));
    const byDigest = await store.resolveImage(manifest.digest);
    assert.equal(byDigest.configDigest.toString(), config.digest);
    assert.equal(await store.untagImage('strata/demo'), true);
    await assert.rejects(
      store.resolveImage('strata/demo'),
      (e: unknown) => e instanceof StrataError && e.code === 'REF',
    );
  });

  it('refuses bad names and digests before they reach a path', async () => {
    await assert.rejects(
      store.tagImage('../evil', {
        mediaType: MediaType.OciManifest,
        digest: digestOf('a').toString(),
        size: 1,
      }),
      (e: unknown) => e instanceof StrataError && e.code === 'REF',
    );
    await assert.rejects(
      store.tagImage('ok', { mediaType: MediaType.OciManifest, digest: 'sha256:../../x', size: 1 }),
      (e: unknown) => e instanceof StrataError && e.code === 'DIGEST',
    );
    await assert.rejects(
      store.tagImage('ok', {
        mediaType: MediaType.OciManifest,
        digest: digestOf('absent').toString(),
        size: 1,
      }),
      /not stored/,
    );
  });

  it('keeps build cache entries by key', () => {
    const key = digestOf('step');
    assert.equal(store.getCacheEntry(key), undefined);
    const layer = { mediaType: MediaType.OciLayerGzip, digest: digestOf('l').toString(), size: 1 };
    store.putCacheEntry(key, { layer, diffId: digestOf('d').toString() });
    assert.deepEqual(store.getCacheEntry(key)?.layer, layer);
    assert.throws(() => store.putCacheEntry(key, { layer, diffId: 'nope' }), StrataError);
    assert.equal(parseDigest(store.getCacheEntry(key)!.diffId).hex.length, 64);
  });

  it('lets shared holders in together and makes exclusive wait for them', async () => {
    const a = await store.shared();
    const b = await store.shared();
    let got = false;
    const excl = store.exclusive().then((release) => {
      got = true;
      return release;
    });
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(got, false, 'exclusive must wait for shared holders');
    a();
    b();
    const release = await excl;
    assert.equal(got, true);
    let sharedGot = false;
    const s = store.shared().then((r) => {
      sharedGot = true;
      return r;
    });
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(sharedGot, false, 'shared must wait while exclusive is held');
    release();
    (await s)();
  });
});
