// Resumable pulls (issue 4 §2 follow-up): a layer download cut off (a reset connection, a network
// that gives up, kill -9 of strata) keeps the bytes that came in the store's tmp/, and the next
// attempt asks the real docker-registry for the rest with a Range request. A proxy in front of the
// registry cuts, stalls or strips Range, and counts the bytes it passes on, so each test shows that
// only the rest travelled, and that what is stored is still verified to the byte.
import * as assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  cliBundle,
  makeTempDir,
  removeTree,
  requirePrerequisites,
  runCli,
  sharedRegistry,
  useTempStrataHome,
  type Registry,
} from '../../support';
import { parseDigest } from '../../../server/src/engine/digest';
import { StrataError } from '../../../server/src/engine/errors';
import { RegistryClient } from '../../../server/src/engine/registry/client';
import { pullImage } from '../../../server/src/engine/registry/pull';
import { partialName } from '../../../server/src/engine/store/blobs';
import { openStore } from '../../../server/src/engine/store/store';
import { remoteDigest, useIsolatedRegistryEnv } from './helpers/env';
import { startProxy, type Proxy, type ProxyLogEntry } from './helpers/proxy';
import { checkStore } from './helpers/store-check';

interface Layer {
  digest: string;
  size: number;
}

/** tmp/ entries other than the lock folder. */
function tmpEntries(home: string): string[] {
  const dir = path.join(home, 'tmp');
  return fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f !== 'locks') : [];
}

/** The start of a `Range: bytes=N-` request. */
function rangeStart(e: ProxyLogEntry | undefined): number {
  const m = /^bytes=(\d+)-$/.exec(e?.range ?? '');
  assert.ok(m, `expected a Range request, got ${e?.range ?? 'none'}`);
  return Number(m[1]);
}

describe('registry: resumable downloads', function () {
  let reg: Registry;
  let proxy: Proxy;
  let layer: Layer;
  const home = useTempStrataHome();
  const iso = useIsolatedRegistryEnv();
  before(async function () {
    requirePrerequisites(this, { commands: ['docker-registry', 'skopeo'] });
    reg = await sharedRegistry();
    proxy = await startProxy(reg.host);
    const digest = await remoteDigest(reg.host, 'library/busybox:latest');
    const res = await fetch(`${reg.url}/v2/library/busybox/manifests/${digest}`, {
      headers: { Accept: 'application/vnd.oci.image.manifest.v1+json' },
    });
    layer = ((await res.json()) as { layers: Layer[] }).layers[0]!;
    assert.ok(layer.size > 600_000, 'busybox has one layer of about 1 MB');
  });
  after(async () => proxy?.stop());
  beforeEach(() => {
    proxy.log.length = 0;
    proxy.tamper = undefined;
  });

  const layerPath = () => `/v2/library/busybox/blobs/${layer.digest}`;
  const layerRequests = () => proxy.log.filter((e) => e.path === layerPath());
  const mirror = () => ({ ...iso.vars, STRATA_REGISTRY_MIRRORS: `docker.io=http://${proxy.host}` });
  const client = () => new RegistryClient({ env: mirror(), attempts: 2, backoffMs: 10 });
  const partialFile = (home: string) => path.join(home, 'tmp', partialName(parseDigest(layer.digest)));

  it('a pull that fails mid-layer keeps the bytes; the next one fetches only the rest', async function () {
    // The first answer is cut after 300 kB; every later one fails (503), until the pull gives up.
    proxy.tamper = ({ method, path: p }) =>
      method === 'GET' && p === layerPath()
        ? layerRequests().length === 1
          ? { cutAfter: 300_000 }
          : { replace: { status: 503, headers: {}, body: Buffer.from('down') } }
        : undefined;
    const store = openStore(home.home);
    await assert.rejects(pullImage('busybox', { store, client: client() }), (e: unknown) => {
      assert.ok(e instanceof StrataError && e.code === 'REGISTRY', String(e));
      assert.match(
        e.message,
        /HTTP 503 for blob sha256:\S+ \(docker\.io\/library\/busybox:latest layer 1\/1\)/,
      );
      return true;
    });
    assert.deepEqual(store.listImages(), [], 'nothing named');
    assert.equal(store.hasBlob(parseDigest(layer.digest)), false, 'nothing unverified stored');
    const kept = fs.statSync(partialFile(home.home)).size;
    assert.ok(kept > 0 && kept <= 300_000, `kept ${kept} bytes`);
    assert.deepEqual(tmpEntries(home.home), [path.basename(partialFile(home.home))]);

    proxy.tamper = undefined;
    proxy.log.length = 0;
    const r = await pullImage('busybox', { store, client: client() });
    assert.equal(r.bytesResumed, kept);
    const asked = layerRequests();
    assert.equal(asked.length, 1);
    assert.equal(rangeStart(asked[0]), kept, 'asks for the rest');
    assert.equal(asked[0]!.status, 206);
    assert.equal(asked[0]!.responseBytes, layer.size - kept, 'only the rest travelled');
    assert.deepEqual(tmpEntries(home.home), [], 'the kept bytes became the blob');
    assert.deepEqual(await checkStore(home.home, { trees: true }), []);
  });

  it('a registry that ignores Range: the whole blob comes again, the kept part is skipped', async function () {
    proxy.tamper = ({ method, path: p }) =>
      method === 'GET' && p === layerPath()
        ? layerRequests().length === 1
          ? { cutAfter: 300_000 }
          : { stripRange: true }
        : undefined;
    const r = await pullImage('busybox', { store: openStore(home.home), client: client() });
    const asked = layerRequests();
    assert.equal(asked.length, 2);
    rangeStart(asked[1]); // we asked for the rest...
    assert.equal(asked[1]!.status, 200, '...and got everything');
    assert.equal(asked[1]!.responseBytes, layer.size);
    assert.equal(r.layers[0]!.digest, layer.digest);
    assert.deepEqual(tmpEntries(home.home), []);
    assert.deepEqual(await checkStore(home.home, { trees: true }), []);
  });

  it('a 206 for another range than the one asked: not guessed at, the blob is fetched whole', async function () {
    proxy.tamper = ({ method, path: p }) =>
      method === 'GET' && p === layerPath()
        ? layerRequests().length === 1
          ? { cutAfter: 300_000 }
          : layerRequests().length === 2
            ? { headers: (h) => ({ ...h, 'content-range': `bytes 1-${layer.size - 1}/${layer.size}` }) }
            : undefined
        : undefined;
    await pullImage('busybox', { store: openStore(home.home), client: client() });
    const asked = layerRequests();
    assert.equal(asked.length, 3);
    rangeStart(asked[1]);
    assert.equal(asked[2]!.range, undefined, 'the third asks for all of it');
    assert.equal(asked[2]!.status, 200);
    assert.deepEqual(tmpEntries(home.home), []);
    assert.deepEqual(await checkStore(home.home, { trees: true }), []);
  });

  for (const unpack of [false, true]) {
    it(`kept bytes that are not the start of the blob (a power cut): one more full download (${unpack ? 'unpacking' : 'verifying the diff_id'})`, async function () {
      const store = openStore(home.home);
      fs.mkdirSync(store.paths.tmp, { recursive: true });
      const dead = spawnSync('true').pid;
      const garbage = path.join(store.paths.tmp, partialName(parseDigest(layer.digest), dead));
      fs.writeFileSync(garbage, Buffer.alloc(200_000, 0x5a));
      const r = await pullImage('busybox', { store, client: client(), unpack });
      const asked = layerRequests();
      assert.equal(asked.length, 2, 'the rest from the kept bytes, then (digest mismatch) all of it');
      assert.equal(rangeStart(asked[0]), 200_000);
      assert.equal(asked[1]!.range, undefined);
      assert.equal(asked[1]!.responseBytes, layer.size);
      assert.equal(r.bytesResumed, 0);
      assert.deepEqual(tmpEntries(home.home), []);
      assert.deepEqual(await checkStore(home.home, { trees: unpack }), []);
    });
  }

  it('unpacks while downloading: the tree grows before the last byte came, and shows only after', async function () {
    let release!: () => void;
    const until = new Promise<void>((r) => (release = r));
    proxy.tamper = ({ method, path: p }) =>
      method === 'GET' && p === layerPath() ? { pauseAfter: { bytes: 500_000, until } } : undefined;
    const store = openStore(home.home);
    const pulling = pullImage('busybox', { store, client: client() });
    pulling.catch(() => undefined); // awaited below
    try {
      // Bounded wait until strata-box has written part of the layer into its temp tree.
      let written: string[] = [];
      for (let i = 0; i < 400 && written.length === 0; i++) {
        await new Promise((r) => setTimeout(r, 50));
        const temp = tmpEntries(home.home).filter((f) => f.startsWith('layer-'));
        written = temp.flatMap((d) => fs.readdirSync(path.join(home.home, 'tmp', d)));
      }
      assert.ok(written.length > 0, 'entries of the layer are written while its download waits');
      assert.equal(store.hasBlob(parseDigest(layer.digest)), false, 'the blob is not visible yet');
      assert.deepEqual(fs.readdirSync(path.join(home.home, 'layers', 'sha256')), [], 'nor the tree');
    } finally {
      release();
    }
    const r = await pulling;
    assert.equal(r.layers[0]!.digest, layer.digest);
    assert.equal(layerRequests().length, 1, 'one pass over the bytes');
    assert.deepEqual(await checkStore(home.home, { trees: true }), []);
  });

  describe('kill -9 of strata pull', function () {
    before(function () {
      requirePrerequisites(this, { files: [cliBundle] });
    });

    /** Starts `strata pull busybox` with the layer stalled after `bytes`; kills it once they are kept. */
    async function killMidLayer(strataHome: string, bytes: number): Promise<void> {
      proxy.tamper = ({ method, path: p }) =>
        method === 'GET' && p === layerPath() ? { stallAfter: bytes } : undefined;
      const child = spawn(process.execPath, [cliBundle, 'pull', 'busybox'], {
        env: { ...process.env, ...mirror(), STRATA_HOME: strataHome },
        stdio: 'ignore',
      });
      const exited = new Promise<void>((r) => child.on('exit', () => r()));
      try {
        // The stall holds the pull; wait (bounded) until every byte that came is on disk.
        const tmp = path.join(strataHome, 'tmp');
        for (let i = 0; i < 600; i++) {
          const kept = fs.existsSync(tmp) ? fs.readdirSync(tmp).filter((f) => f.startsWith('partial-')) : [];
          if (kept.length === 1 && fs.statSync(path.join(tmp, kept[0]!)).size === bytes) break;
          if (child.exitCode !== null) assert.fail('strata pull ended before it could be killed');
          await new Promise((r) => setTimeout(r, 50));
        }
      } finally {
        child.kill('SIGKILL');
        await exited;
        proxy.tamper = undefined;
      }
    }

    it('the next pull continues with a Range request for the rest; fsck is clean', async function () {
      this.timeout(60_000);
      await killMidLayer(home.home, 300_000);
      const partial = tmpEntries(home.home).filter((f) => f.startsWith('partial-'));
      assert.equal(partial.length, 1);
      assert.equal(fs.statSync(path.join(home.home, 'tmp', partial[0]!)).size, 300_000);
      proxy.log.length = 0;
      const again = await runCli(['pull', 'busybox'], {
        env: { ...mirror(), STRATA_HOME: home.home },
      });
      assert.equal(again.code, 0, again.stderr);
      assert.match(again.stdout, /downloaded, .* resumed from an interrupted pull\)\n$/, 'the user is told');
      const asked = layerRequests();
      assert.equal(asked.length, 1);
      assert.equal(rangeStart(asked[0]), 300_000);
      assert.equal(asked[0]!.responseBytes, layer.size - 300_000, 'only the rest travelled');
      assert.deepEqual(tmpEntries(home.home), []);
      assert.deepEqual(await checkStore(home.home, { trees: true }), []);
      const fsck = await runCli(['fsck'], { env: { ...iso.vars, STRATA_HOME: home.home } });
      assert.equal(fsck.code, 0, fsck.stdout + fsck.stderr);
    });

    it('strata gc removes a download nobody resumed', async function () {
      this.timeout(60_000);
      const other = makeTempDir('resume-gc');
      try {
        await killMidLayer(other, 200_000);
        assert.equal(tmpEntries(other).filter((f) => f.startsWith('partial-')).length, 1);
        const gc = await runCli(['gc'], { env: { ...iso.vars, STRATA_HOME: other } });
        assert.equal(gc.code, 0, gc.stderr);
        assert.deepEqual(tmpEntries(other), [], 'the stale partial download is gone');
      } finally {
        removeTree(other);
      }
    });
  });
});
