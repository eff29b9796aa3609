// Push to a real registry through a proxy that counts every uploaded byte: only what the registry
// lacks travels (the seed's promise: change the top layer and only that layer, the config and the
// manifest are sent).
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import {
  cliBundle,
  makeTempDir,
  removeTree,
  requirePrerequisites,
  runCli,
  startRegistry,
  useTempStrataHome,
  type Registry,
} from '../../support';
import { RegistryClient } from '../../../server/src/engine/registry/client';
import { pullImage } from '../../../server/src/engine/registry/pull';
import { pushImage } from '../../../server/src/engine/registry/push';
import { openStore, type Store } from '../../../server/src/engine/store/store';
import { remoteDigest, useIsolatedRegistryEnv } from './helpers/env';
import { makeImage, noise } from './helpers/images';
import { startProxy, uploadedBytes, type Proxy } from './helpers/proxy';

describe('registry: push', function () {
  let reg: Registry;
  let proxy: Proxy;
  const home = useTempStrataHome();
  const iso = useIsolatedRegistryEnv();
  before(async function () {
    requirePrerequisites(this, { commands: ['docker-registry', 'skopeo'], files: [cliBundle] });
    reg = await startRegistry();
    proxy = await startProxy(reg.host);
  });
  after(async () => {
    await proxy?.stop();
    await reg?.stop();
  });
  beforeEach(() => {
    proxy.log.length = 0;
  });
  const client = () => new RegistryClient({ env: iso.vars });
  const base = { 'base/data': noise(2 << 20, 1) };
  const mid = { 'mid/data': noise(1 << 20, 2) };

  async function appImage(store: Store, name: string, topSeed: number) {
    return makeImage(store, name, [
      base,
      mid,
      { 'top/data': noise(256 << 10, topSeed), 'top/version': String(topSeed) },
    ]);
  }

  it('uploads every blob once, then only the changed top layer, its config and the manifest', async function () {
    const store = openStore(home.home);
    const v1 = await appImage(store, 'strata/app', 100);
    const first = await pushImage('strata/app', `${proxy.host}/lab/app:1`, { store, client: client() });
    const all = v1.layers.reduce((n, l) => n + l.size, 0) + v1.config.size;
    let up = uploadedBytes(proxy.log);
    assert.equal(up.blobs, all, 'first push sends every blob');
    assert.equal(up.blobPuts, 4);
    assert.equal(up.manifests, 2 * v1.manifest.size, 'the manifest, by digest and by tag');
    assert.equal(first.bytesUploaded, all);
    assert.equal(first.digest, v1.manifest.digest);
    // skopeo, an outside judge, sees the manifest we stored.
    assert.equal(await remoteDigest(proxy.host, 'lab/app:1'), v1.manifest.digest);

    proxy.log.length = 0;
    const again = await pushImage('strata/app', `${proxy.host}/lab/app:1`, { store, client: client() });
    up = uploadedBytes(proxy.log);
    assert.equal(up.blobs, 0, 're-pushing the same image sends no blob');
    assert.equal(again.present.length, 4);
    assert.equal(proxy.log.filter((e) => e.method === 'HEAD').length, 4);

    proxy.log.length = 0;
    const v2 = await appImage(store, 'strata/app', 101);
    assert.equal(v2.layers[0]!.digest, v1.layers[0]!.digest);
    assert.notEqual(v2.layers[2]!.digest, v1.layers[2]!.digest);
    const second = await pushImage('strata/app', `${proxy.host}/lab/app:2`, { store, client: client() });
    up = uploadedBytes(proxy.log);
    assert.equal(
      up.blobs,
      v2.layers[2]!.size + v2.config.size,
      'only the new top layer and the config travel',
    );
    assert.equal(up.blobPuts, 2);
    assert.equal(up.manifests, 2 * v2.manifest.size);
    assert.deepEqual(second.uploaded.sort(), [v2.layers[2]!.digest, v2.config.digest].sort());
    assert.equal(second.present.length, 2);
    assert.equal(await remoteDigest(proxy.host, 'lab/app:2'), v2.manifest.digest);
  });

  it('mounts blobs from another repository of the same registry instead of uploading them', async function () {
    // Store A pushes the app; store B pulls it (so it knows where the base layers live) and pushes
    // a sibling image to another repository.
    const storeA = openStore(home.home);
    await appImage(storeA, 'strata/app', 200);
    await pushImage('strata/app', `${proxy.host}/lab/app:m`, { store: storeA, client: client() });
    const homeB = makeTempDir('storeb');
    try {
      const storeB = openStore(path.join(homeB, 'home'));
      await pullImage(`${proxy.host}/lab/app:m`, { store: storeB, client: client() });
      const sibling = await appImage(storeB, 'strata/sibling', 201);
      proxy.log.length = 0;
      const r = await pushImage('strata/sibling', `${proxy.host}/lab/sibling:1`, {
        store: storeB,
        client: client(),
      });
      assert.deepEqual(r.mounted.sort(), [sibling.layers[0]!.digest, sibling.layers[1]!.digest].sort());
      const mounts = proxy.log.filter((e) => e.method === 'POST' && e.path.includes('mount='));
      assert.ok(mounts.length >= 2 && mounts.every((m) => m.status === 201), JSON.stringify(mounts));
      assert.equal(uploadedBytes(proxy.log).blobs, sibling.layers[2]!.size + sibling.config.size);
      assert.equal(await remoteDigest(proxy.host, 'lab/sibling:1'), sibling.manifest.digest);
    } finally {
      removeTree(homeB);
    }
  });

  it('pushes from the command line and pulls back the same digest', async function () {
    const store = openStore(home.home);
    const img = await appImage(store, 'strata/cli', 300);
    const r = await runCli(['push', 'strata/cli', `${proxy.host}/lab/cli:1`], {
      env: { ...iso.vars, STRATA_HOME: home.home },
    });
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      new RegExp(`pushed ${proxy.host.replace(/\./g, '\\.')}/lab/cli:1@${img.manifest.digest}`),
    );
    const other = makeTempDir('pullback');
    try {
      const back = await pullImage(`${proxy.host}/lab/cli:1`, { store: openStore(other), client: client() });
      assert.equal(back.digest, img.manifest.digest);
    } finally {
      removeTree(other);
    }
  });

  it('downloads layers concurrently', async function () {
    const store = openStore(home.home);
    const img = await makeImage(store, 'strata/three', [
      { a: noise(300_000, 41) },
      { b: noise(300_000, 42) },
      { c: noise(300_000, 43) },
    ]);
    await pushImage('strata/three', `${proxy.host}/lab/three:1`, { store, client: client() });
    // Each layer request is held until a second one has arrived: a client that fetched layers one
    // at a time would make the proxy give up waiting (after 20 s) instead.
    const layerPaths = new Set(img.layers.map((l) => `/v2/lab/three/blobs/${l.digest}`));
    let arrived = 0;
    let release: () => void = () => {};
    const twoArrived = new Promise<void>((r) => (release = r));
    let gaveUp = false;
    const fallback = setTimeout(() => {
      gaveUp = true;
      release();
    }, 20_000);
    proxy.tamper = ({ method, path: p }) => {
      if (method !== 'GET' || !layerPaths.has(p)) return undefined;
      if (++arrived >= 2) release();
      return { hold: twoArrived };
    };
    const other = makeTempDir('concurrent');
    try {
      await pullImage(`${proxy.host}/lab/three:1`, {
        store: openStore(other),
        client: client(),
        unpack: false,
      });
    } finally {
      clearTimeout(fallback);
      proxy.tamper = undefined;
      removeTree(other);
    }
    assert.equal(gaveUp, false, 'two layer downloads were in flight at once');
    assert.equal(arrived, 3);
  });

  it('refuses to push an image the store does not have, naming it', async function () {
    const r = await runCli(['push', 'strata/missing', `${proxy.host}/lab/x:1`], {
      env: { ...iso.vars, STRATA_HOME: home.home },
    });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /no image named strata\/missing/);
    assert.equal(proxy.log.length, 0, 'nothing was sent');
  });
});
