// Multi-platform images: an OCI index and a Docker manifest list pushed through the registry API
// (children pushed by us), resolved to the requested platform; and Docker schema 2 manifests as
// skopeo writes them with --format v2s2.
import * as assert from 'node:assert/strict';
import {
  cliBundle,
  makeTempDir,
  removeTree,
  requirePrerequisites,
  runCli,
  sharedRegistry,
  startRegistry,
  useTempStrataHome,
  type Registry,
} from '../../support';
import { digestOf, parseDigest } from '../../../server/src/engine/digest';
import { MediaType } from '../../../server/src/engine/image/media-types';
import { RegistryClient } from '../../../server/src/engine/registry/client';
import { pullImage } from '../../../server/src/engine/registry/pull';
import { pushImage } from '../../../server/src/engine/registry/push';
import { openStore } from '../../../server/src/engine/store/store';
import { run, useIsolatedRegistryEnv } from './helpers/env';
import { makeImage, noise, type MadeImage } from './helpers/images';

async function putIndex(
  reg: Registry,
  repo: string,
  tag: string,
  mediaType: string,
  children: { image: MadeImage; platform: object }[],
): Promise<string> {
  const body = JSON.stringify({
    schemaVersion: 2,
    mediaType,
    manifests: children.map((c) => ({
      mediaType: c.image.manifest.mediaType,
      digest: c.image.manifest.digest,
      size: c.image.manifest.size,
      platform: c.platform,
    })),
  });
  const res = await fetch(`${reg.url}/v2/${repo}/manifests/${tag}`, {
    method: 'PUT',
    headers: { 'Content-Type': mediaType },
    body,
  });
  assert.equal(res.status, 201, await res.text());
  return digestOf(body).toString();
}

describe('registry: multi-platform indexes and Docker manifests', function () {
  let shared: Registry;
  let reg: Registry;
  let amd64: MadeImage;
  let arm64: MadeImage;
  let ociIndex: string;
  const home = useTempStrataHome();
  const iso = useIsolatedRegistryEnv();
  before(async function () {
    requirePrerequisites(this, { commands: ['docker-registry', 'skopeo'], files: [cliBundle] });
    shared = await sharedRegistry();
    reg = await startRegistry();
    const scratch = makeTempDir('multi');
    try {
      const store = openStore(scratch);
      amd64 = await makeImage(store, 'strata/amd64', [{ arch: 'amd64', f: noise(1000, 1) }]);
      arm64 = await makeImage(store, 'strata/arm64', [{ arch: 'arm64', f: noise(1000, 2) }], {
        os: 'linux',
        architecture: 'arm64',
      });
      const client = new RegistryClient({
        env: { PATH: process.env.PATH ?? '', HOME: scratch, DOCKER_CONFIG: scratch },
      });
      await pushImage('strata/amd64', `${reg.host}/lab/multi:amd64`, { store, client });
      await pushImage('strata/arm64', `${reg.host}/lab/multi:arm64`, { store, client });
    } finally {
      removeTree(scratch);
    }
    ociIndex = await putIndex(reg, 'lab/multi', 'latest', MediaType.OciIndex, [
      { image: amd64, platform: { os: 'linux', architecture: 'amd64' } },
      { image: arm64, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
    ]);
  });
  after(async () => reg?.stop());
  const client = () => new RegistryClient({ env: iso.vars });

  it("chooses this machine's platform from an OCI index", async function () {
    const r = await pullImage(`${reg.host}/lab/multi`, {
      store: openStore(home.home),
      client: client(),
      platform: { os: 'linux', architecture: 'amd64' },
    });
    assert.equal(r.digest, amd64.manifest.digest);
    assert.equal(r.indexDigest, ociIndex);
    assert.equal(r.platform, 'linux/amd64');
  });

  it('chooses the requested platform (--platform), arm64 matching arm64/v8', async function () {
    const r = await runCli(['pull', '--json', '--platform', 'linux/arm64', `${reg.host}/lab/multi:latest`], {
      env: { ...iso.vars, STRATA_HOME: home.home },
    });
    assert.equal(r.code, 0, r.stderr);
    const result = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { digest: string; platform: string };
    assert.equal(result.digest, arm64.manifest.digest);
    assert.equal(result.platform, 'linux/arm64');
    const store = openStore(home.home);
    assert.equal(store.findImage(`${reg.host}/lab/multi:latest`)?.digest, arm64.manifest.digest);
  });

  it('names the platforms an index offers when the requested one is missing', async function () {
    const r = await runCli(['pull', '--platform', 'linux/s390x', `${reg.host}/lab/multi:latest`], {
      env: { ...iso.vars, STRATA_HOME: home.home },
    });
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /lab\/multi:latest has no image for linux\/s390x; it offers linux\/amd64, linux\/arm64\/v8/,
    );
    assert.deepEqual(openStore(home.home).listImages(), []);
  });

  it('refuses a single-platform image for another platform before fetching its layers', async function () {
    const store = openStore(home.home);
    await assert.rejects(
      pullImage(`${reg.host}/lab/multi:amd64`, {
        store,
        client: client(),
        platform: { os: 'linux', architecture: 'arm64' },
      }),
      /lab\/multi:amd64 is an image for linux\/amd64, not linux\/arm64/,
    );
    assert.equal(store.hasBlob(parseDigest(amd64.layers[0]!.digest)), false);
    assert.deepEqual(store.listImages(), []);
  });

  it('resolves a Docker manifest list the same way', async function () {
    const list = await putIndex(reg, 'lab/multi', 'dockerlist', MediaType.DockerManifestList, [
      { image: arm64, platform: { os: 'linux', architecture: 'arm64' } },
      { image: amd64, platform: { os: 'linux', architecture: 'amd64' } },
    ]);
    const r = await pullImage(`${reg.host}/lab/multi:dockerlist`, {
      store: openStore(home.home),
      client: client(),
      platform: { os: 'linux', architecture: 'amd64' },
    });
    assert.equal(r.digest, amd64.manifest.digest);
    assert.equal(r.indexDigest, list);
  });

  it('pulls a Docker schema 2 image (skopeo --format v2s2) and keeps its exact bytes', async function () {
    await run('skopeo', [
      'copy',
      '-q',
      '--format',
      'v2s2',
      '--src-tls-verify=false',
      '--dest-tls-verify=false',
      `docker://${shared.host}/library/busybox:latest`,
      `docker://${reg.host}/library/busybox:v2s2`,
    ]);
    const store = openStore(home.home);
    const r = await pullImage(`${reg.host}/library/busybox:v2s2`, { store, client: client() });
    const entry = store.findImage(`${reg.host}/library/busybox:v2s2`)!;
    assert.equal(entry.mediaType, MediaType.DockerManifest);
    assert.equal(r.layers[0]!.mediaType, MediaType.DockerLayerGzip);
    const { stdout } = await run('skopeo', [
      'inspect',
      '--raw',
      '--tls-verify=false',
      `docker://${reg.host}/library/busybox:v2s2`,
    ]);
    assert.equal(
      digestOf(stdout).toString(),
      r.digest,
      "the stored manifest is the registry's, byte for byte",
    );
    const image = await store.resolveImage(entry.annotations!['org.opencontainers.image.ref.name']!);
    assert.equal(image.digest.toString(), r.digest);
  });

  it('inspects a remote index without storing anything, local images from the store', async function () {
    const remote = await runCli(['inspect', '--json', '--platform', 'linux/arm64', `${reg.host}/lab/multi`], {
      env: { ...iso.vars, STRATA_HOME: home.home },
    });
    assert.equal(remote.code, 0, remote.stderr);
    const d = JSON.parse(remote.stdout) as {
      digest: string;
      indexDigest: string;
      platform: string;
      layers: { size: number; diffId: string }[];
      source: string;
    };
    assert.equal(d.digest, arm64.manifest.digest);
    assert.equal(d.indexDigest, ociIndex);
    assert.equal(d.platform, 'linux/arm64');
    assert.equal(d.layers[0]!.size, arm64.layers[0]!.size);
    assert.match(d.layers[0]!.diffId, /^sha256:/);
    assert.equal(d.source, reg.url);
    assert.deepEqual(openStore(home.home).listImages(), []);

    await pullImage(`${reg.host}/lab/multi:amd64`, { store: openStore(home.home), client: client() });
    const local = await runCli(['inspect', `${reg.host}/lab/multi:amd64`], {
      env: { ...iso.vars, STRATA_HOME: home.home },
    });
    assert.equal(local.code, 0, local.stderr);
    assert.match(local.stdout, /Source: +store /);
    assert.match(local.stdout, new RegExp(`Digest: +${amd64.manifest.digest}`));
    assert.match(local.stdout, /Layers: +1, /);
    assert.match(local.stdout, new RegExp(`diff_id sha256:[0-9a-f]{64}`));
    const missing = await runCli(['inspect', 'strata/nothing'], {
      env: {
        ...iso.vars,
        STRATA_HOME: home.home,
        STRATA_REGISTRY_MIRRORS: `docker.io=${reg.url}`,
        STRATA_REGISTRY_ATTEMPTS: '1',
      },
    });
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /no image named strata\/nothing in the store, and /);
    assert.match(missing.stderr, /hint: see 'strata images' for local names/);
  });
});
