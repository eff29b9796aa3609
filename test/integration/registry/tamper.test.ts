// A hostile or broken registry: a proxy in front of the real one flips bytes, swaps manifests, lies
// about sizes, fails, cuts connections and redirects elsewhere. Every lie is caught with an error
// naming the ref and both digests (or sizes); nothing unverified is stored and nothing is named.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import {
  makeTempDir,
  removeTree,
  requirePrerequisites,
  sharedRegistry,
  useTempStrataHome,
  type Registry,
} from '../../support';
import { digestOf, parseDigest } from '../../../server/src/engine/digest';
import { pushImage } from '../../../server/src/engine/registry/push';
import { makeImage, noise } from './helpers/images';
import { StrataError } from '../../../server/src/engine/errors';
import { RegistryClient } from '../../../server/src/engine/registry/client';
import { pullImage } from '../../../server/src/engine/registry/pull';
import { openStore } from '../../../server/src/engine/store/store';
import { PASSWORD, USER, seedBusybox, startBasicAuthRegistry } from './helpers/auth';
import { listFiles, remoteDigest, useIsolatedRegistryEnv } from './helpers/env';
import { startProxy, type Proxy } from './helpers/proxy';

interface Busybox {
  manifestDigest: string;
  manifest: { config: { digest: string; size: number }; layers: { digest: string; size: number }[] };
  manifestBytes: Buffer;
}

describe('registry: hostile registry and network', function () {
  let reg: Registry;
  let proxy: Proxy;
  let bb: Busybox;
  const home = useTempStrataHome();
  const iso = useIsolatedRegistryEnv();
  before(async function () {
    requirePrerequisites(this, { commands: ['docker-registry', 'skopeo', 'htpasswd'] });
    reg = await sharedRegistry();
    proxy = await startProxy(reg.host);
    const manifestDigest = await remoteDigest(reg.host, 'library/busybox:latest');
    const res = await fetch(`${reg.url}/v2/library/busybox/manifests/${manifestDigest}`, {
      headers: { Accept: 'application/vnd.oci.image.manifest.v1+json' },
    });
    const manifestBytes = Buffer.from(await res.arrayBuffer());
    bb = {
      manifestDigest,
      manifestBytes,
      manifest: JSON.parse(manifestBytes.toString()) as Busybox['manifest'],
    };
  });
  after(async () => proxy?.stop());
  beforeEach(() => {
    proxy.log.length = 0;
    proxy.tamper = undefined;
  });

  const layerPath = () => `/v2/library/busybox/blobs/${bb.manifest.layers[0]!.digest}`;
  const client = () =>
    new RegistryClient({
      env: { ...iso.vars, STRATA_REGISTRY_MIRRORS: `docker.io=http://${proxy.host}` },
      attempts: 3,
      backoffMs: 10,
    });

  async function pullFails(ref: string, pattern: RegExp, code: string): Promise<StrataError> {
    const store = openStore(home.home);
    let caught: unknown;
    try {
      await pullImage(ref, { store, client: client() });
    } catch (e) {
      caught = e;
    }
    assert.ok(caught instanceof StrataError, `expected a StrataError, got ${String(caught)}`);
    assert.equal(caught.code, code, caught.message);
    assert.match(caught.message, pattern);
    assert.ok(caught.hint, 'an error a user can meet says how to fix it');
    // Nothing unverified stored, no temp files left, no name.
    const blobs = listFiles(path.join(home.home, 'oci', 'blobs', 'sha256'));
    assert.ok(
      !blobs.includes(bb.manifest.layers[0]!.digest.slice(7)) || !code.startsWith('DIGEST'),
      `the layer must not be stored: ${blobs.join(' ')}`,
    );
    assert.ok(!blobs.includes(bb.manifestDigest.slice(7)), 'the manifest must not be stored');
    for (const f of blobs)
      assert.equal(
        digestOf(fs.readFileSync(path.join(home.home, 'oci', 'blobs', 'sha256', f))).hex,
        f,
        'every stored blob is what its name says',
      );
    // No temp file (ingest-*), temp tree (layer-*) or partial download of wrong bytes (partial-*).
    assert.deepEqual(
      listFiles(path.join(home.home, 'tmp')).filter(
        (f) => /^(ingest|layer)-/.test(f) || (f.startsWith('partial-') && code === 'DIGEST'),
      ),
      [],
    );
    assert.deepEqual(store.listImages(), []);
    return caught;
  }

  it('a flipped byte in a layer: digest mismatch naming the ref and both digests', async function () {
    proxy.tamper = ({ method, path: p }) =>
      method === 'GET' && p === layerPath() ? { body: (b) => ((b[b.length >> 1] ^= 0x40), b) } : undefined;
    const e = await pullFails(
      'busybox',
      /digest mismatch \(docker\.io\/library\/busybox:latest layer 1\/1/,
      'DIGEST',
    );
    assert.ok(e.message.includes(`expected ${bb.manifest.layers[0]!.digest}, got sha256:`), e.message);
  });

  it("a different manifest for a tag: caught by the registry's Docker-Content-Digest", async function () {
    const other = Buffer.from(bb.manifestBytes.toString().replace('"schemaVersion":2', '"schemaVersion": 2'));
    proxy.tamper = ({ path: p }) =>
      p === '/v2/library/busybox/manifests/latest' ? { body: () => other } : undefined;
    const e = await pullFails(
      'busybox:latest',
      /does not match the registry's Docker-Content-Digest/,
      'DIGEST',
    );
    assert.ok(
      e.message.includes(bb.manifestDigest) && e.message.includes(digestOf(other).toString()),
      e.message,
    );
  });

  it('a different manifest for a digest: caught by hashing it', async function () {
    const other = Buffer.from(bb.manifestBytes.toString().replace('"schemaVersion":2', '"schemaVersion": 2'));
    proxy.tamper = ({ path: p }) =>
      p === `/v2/library/busybox/manifests/${bb.manifestDigest}`
        ? { body: () => other, headers: (h) => (delete h['docker-content-digest'], h) }
        : undefined;
    const e = await pullFails(
      `busybox@${bb.manifestDigest}`,
      /manifest of docker\.io\/library\/busybox@sha256:\S+ from \S+ does not match its digest/,
      'DIGEST',
    );
    assert.ok(e.message.includes(`expected ${bb.manifestDigest}, got ${digestOf(other)}`), e.message);
  });

  it('a manifest over 4 MiB is refused before it is read', async function () {
    proxy.tamper = ({ path: p }) =>
      p.includes('/manifests/')
        ? {
            replace: {
              status: 200,
              headers: { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' },
              body: Buffer.alloc((4 << 20) + 10, 0x20),
            },
          }
        : undefined;
    await pullFails(
      'busybox',
      /manifest (of \d+ bytes|larger than 4 MiB).*limit|larger than 4 MiB/,
      'REGISTRY',
    );
  });

  it('a short body with a matching Content-Length: the size check catches it', async function () {
    proxy.tamper = ({ method, path: p }) =>
      method === 'GET' && p === layerPath() ? { body: (b) => b.subarray(0, b.length - 100) } : undefined;
    const e = await pullFails(
      'busybox',
      /sent \d+ bytes for blob sha256:\S+ \(docker\.io\/library\/busybox:latest layer 1\/1\), but the manifest says \d+/,
      'DIGEST',
    );
    assert.ok(e.message.includes(String(bb.manifest.layers[0]!.size)));
  });

  it('a long body without Content-Length: refused once it passes the declared size', async function () {
    proxy.tamper = ({ method, path: p }) =>
      method === 'GET' && p === layerPath()
        ? {
            body: (b) => Buffer.concat([b, Buffer.alloc(4096)]),
            headers: (h) => (delete h['content-length'], h),
          }
        : undefined;
    await pullFails('busybox', /is larger than its declared size/, 'DIGEST');
  });

  it('retries 5xx answers with backoff, then succeeds', async function () {
    let failures = 2;
    proxy.tamper = ({ method, path: p }) =>
      method === 'GET' && p === layerPath() && failures-- > 0
        ? { replace: { status: 503, headers: {}, body: Buffer.from('try later') } }
        : undefined;
    const r = await pullImage('busybox', { store: openStore(home.home), client: client() });
    assert.equal(r.digest, bb.manifestDigest);
    assert.equal(proxy.log.filter((e) => e.path === layerPath()).length, 3);
  });

  it('fetches a blob again when the connection is cut mid-body', async function () {
    let cuts = 1;
    proxy.tamper = ({ method, path: p }) =>
      method === 'GET' && p === layerPath() && cuts-- > 0 ? { cutAfter: 300_000 } : undefined;
    const r = await pullImage('busybox', { store: openStore(home.home), client: client() });
    assert.equal(r.digest, bb.manifestDigest);
    const asked = proxy.log.filter((e) => e.path === layerPath());
    assert.equal(asked.length, 2);
    // The client kept what reached it before the cut (a socket torn down may lose its last bytes).
    const from = Number(/^bytes=(\d+)-$/.exec(asked[1]!.range ?? '')?.[1]);
    assert.ok(
      from > 0 && from <= 300_000,
      `the second request continues where the cut was: ${asked[1]!.range}`,
    );
    assert.equal(asked[1]!.responseBytes, bb.manifest.layers[0]!.size - from, 'only the rest is fetched');
  });

  it('gives up after the retries with a clear error when the registry keeps failing', async function () {
    proxy.tamper = ({ path: p }) =>
      p.includes('/manifests/')
        ? { replace: { status: 500, headers: {}, body: Buffer.from('boom') } }
        : undefined;
    const store = openStore(home.home);
    const single = new RegistryClient({ env: iso.vars, attempts: 2, backoffMs: 10 });
    await assert.rejects(
      pullImage(`${proxy.host}/library/busybox:latest`, { store, client: single }),
      (e: unknown) => {
        assert.ok(e instanceof StrataError);
        assert.match(e.message, /answered HTTP 500 for manifest .*busybox:latest/);
        return true;
      },
    );
    assert.equal(proxy.log.length, 2);
  });

  it('a layer whose content does not match the diff_id of its config: refused, nothing unpacked or named', async function () {
    const scratch = makeTempDir('liar');
    const wrong = `sha256:${'d'.repeat(64)}`;
    try {
      const src = openStore(scratch);
      const img = await makeImage(src, 'strata/liar', [{ f: noise(5000, 77) }], undefined, [wrong]);
      await pushImage('strata/liar', `${proxy.host}/lab/liar:1`, { store: src, client: client() });
      const store = openStore(home.home);
      await assert.rejects(
        pullImage(`${proxy.host}/lab/liar:1`, { store, client: client() }),
        (e: unknown) => {
          assert.ok(e instanceof StrataError, String(e));
          assert.match(e.message, new RegExp(wrong));
          assert.match(e.message, /lab\/liar:1 layer 1\/1/);
          return true;
        },
      );
      assert.deepEqual(store.listImages(), []);
      assert.deepEqual(listFiles(path.join(home.home, 'layers')), [], 'no layer tree');
      assert.ok(
        !store.hasBlob(parseDigest(img.layers[0]!.digest)),
        'a blob becomes visible only once its digest and its diff_id are verified',
      );
      assert.deepEqual(listFiles(path.join(home.home, 'tmp')), [], 'no partial download or temp tree left');
      // Without unpacking, the diff_id is still checked (gunzip and hash on the way in).
      await assert.rejects(
        pullImage(`${proxy.host}/lab/liar:1`, { store, client: client(), unpack: false }),
        (e: unknown) => {
          assert.ok(e instanceof StrataError && e.code === 'DIGEST', String(e));
          assert.match(e.message, /uncompressed digest \(diff_id\) is sha256:\S+, but the image config says/);
          assert.match(e.message, new RegExp(wrong));
          return true;
        },
      );
      assert.ok(!store.hasBlob(parseDigest(img.layers[0]!.digest)));
      assert.deepEqual(store.listImages(), []);
    } finally {
      removeTree(scratch);
    }
  });

  it('stops a redirect loop with a clear error', async function () {
    proxy.tamper = ({ method, path: p }) =>
      method === 'GET' && p === layerPath()
        ? {
            replace: {
              status: 302,
              headers: { Location: `http://${proxy.host}${p}` },
              body: Buffer.alloc(0),
            },
          }
        : undefined;
    await pullFails('busybox', /too many redirects from 127\.0\.0\.1:\d+/, 'REGISTRY');
    assert.equal(proxy.log.filter((e) => e.path === layerPath()).length, 11);
  });

  it('never fetches a foreign layer from the URLs its manifest lists', async function () {
    const hits: string[] = [];
    const recorder = http.createServer((req, res) => {
      hits.push(req.url ?? '');
      res.writeHead(200);
      res.end('x');
    });
    await new Promise<void>((r) => recorder.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(recorder.address() as AddressInfo).port}/layer.tar.gz`;
      const m = JSON.parse(bb.manifestBytes.toString()) as { layers: Record<string, unknown>[] };
      m.layers[0] = {
        mediaType: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
        digest: `sha256:${'e'.repeat(64)}`,
        size: 1,
        urls: [url],
      };
      const bytes = Buffer.from(JSON.stringify(m));
      proxy.tamper = ({ path: p }) =>
        p === '/v2/library/busybox/manifests/foreign'
          ? {
              replace: {
                status: 200,
                headers: { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' },
                body: bytes,
              },
            }
          : undefined;
      const e = await pullFails(
        'busybox:foreign',
        /is a foreign layer that .* does not hold; Strata does not fetch layers from the URLs a manifest lists/,
        'REGISTRY',
      );
      assert.ok(e.message.includes(url));
      assert.deepEqual(hits, [], 'the foreign URL was never asked');
    } finally {
      recorder.closeAllConnections();
      await new Promise((r) => recorder.close(r));
    }
  });

  describe('redirects', function () {
    let authReg: Registry;
    let authProxy: Proxy;
    let elsewhere: http.Server;
    let elsewhereHost = '';
    const seen: { path: string; authorization?: string }[] = [];
    before(async function () {
      authReg = await startBasicAuthRegistry();
      await seedBusybox(reg.host, authReg.host, `${USER}:${PASSWORD}`);
      authProxy = await startProxy(authReg.host);
      // "Object storage": another host (localhost, not 127.0.0.1) that serves the blobs it is
      // redirected to, fetched from the registry, and records the headers it got.
      elsewhere = http.createServer((req, res) => {
        seen.push({
          path: req.url ?? '',
          ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}),
        });
        const upstream = http.request(
          `${authReg.url}${req.url}`,
          { headers: { Authorization: `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}` } },
          (up) => {
            res.writeHead(up.statusCode ?? 502, up.headers);
            up.pipe(res);
          },
        );
        upstream.end();
      });
      await new Promise<void>((r) => elsewhere.listen(0, '127.0.0.1', r));
      elsewhereHost = `localhost:${(elsewhere.address() as AddressInfo).port}`;
    });
    after(async () => {
      await authProxy?.stop();
      elsewhere?.closeAllConnections();
      await new Promise((r) => elsewhere?.close(r));
      await authReg?.stop();
    });

    it('follows a blob redirect to another host without sending it the credentials', async function () {
      authProxy.tamper = ({ method, path: p }) =>
        method === 'GET' && p.includes('/blobs/sha256:')
          ? {
              replace: {
                status: 307,
                headers: { Location: `http://${elsewhereHost}${p}` },
                body: Buffer.alloc(0),
              },
            }
          : undefined;
      fs.writeFileSync(
        path.join(iso.dockerConfig, 'config.json'),
        JSON.stringify({
          auths: { [authProxy.host]: { auth: Buffer.from(`${USER}:${PASSWORD}`).toString('base64') } },
        }),
      );
      const c = new RegistryClient({ env: iso.vars });
      const r = await pullImage(`${authProxy.host}/library/busybox:latest`, {
        store: openStore(home.home),
        client: c,
      });
      assert.equal(r.digest, bb.manifestDigest);
      assert.equal(seen.length, 2, 'config and layer were fetched from the other host');
      assert.deepEqual(
        seen.filter((s) => s.authorization),
        [],
        'no Authorization header went to the other host',
      );
      assert.ok(
        authProxy.log.some((e) => e.authorization?.startsWith('Basic ')),
        'the registry itself got the credentials',
      );
    });

    it('a redirect to a host that serves other bytes is still caught', async function () {
      authProxy.tamper = ({ method, path: p }) =>
        method === 'GET' && p.includes(bb.manifest.layers[0]!.digest)
          ? {
              replace: {
                status: 302,
                headers: {
                  Location: `http://${elsewhereHost}/v2/library/busybox/blobs/${bb.manifest.config.digest}`,
                },
                body: Buffer.alloc(0),
              },
            }
          : undefined;
      fs.writeFileSync(
        path.join(iso.dockerConfig, 'config.json'),
        JSON.stringify({
          auths: { [authProxy.host]: { auth: Buffer.from(`${USER}:${PASSWORD}`).toString('base64') } },
        }),
      );
      const store = openStore(home.home);
      await assert.rejects(
        pullImage(`${authProxy.host}/library/busybox:latest`, {
          store,
          client: new RegistryClient({ env: iso.vars }),
        }),
        (e: unknown) => {
          assert.ok(e instanceof StrataError && e.code === 'DIGEST', String(e));
          assert.match(
            e.message,
            new RegExp(`sent ${bb.manifest.config.size} bytes for blob ${bb.manifest.layers[0]!.digest}`),
          );
          return true;
        },
      );
      assert.deepEqual(store.listImages(), []);
      assert.equal(store.hasBlob(digestOf(Buffer.alloc(0))), false);
    });
  });
});
