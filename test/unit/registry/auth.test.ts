// WWW-Authenticate parsing, platform matching and manifest checks: the pure parts of the client.
import * as assert from 'node:assert/strict';
import { parseChallenges } from '../../../server/src/engine/registry/auth';
import { parseManifestBytes } from '../../../server/src/engine/registry/manifest';
import { parsePlatform, platformMatches, selectPlatform } from '../../../server/src/engine/registry/platform';
import { digestOf } from '../../../server/src/engine/digest';
import { MediaType } from '../../../server/src/engine/image/media-types';
import { StrataError } from '../../../server/src/engine/errors';

const D = 'sha256:' + 'b'.repeat(64);

describe('registry: challenges', function () {
  it('parses a Bearer challenge with quoted commas', function () {
    assert.deepEqual(
      parseChallenges(
        'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:a/b:pull,push"',
      ),
      [
        {
          scheme: 'bearer',
          params: {
            realm: 'https://auth.docker.io/token',
            service: 'registry.docker.io',
            scope: 'repository:a/b:pull,push',
          },
        },
      ],
    );
  });
  it('parses several challenges, unquoted values, escapes and odd spacing', function () {
    assert.deepEqual(
      parseChallenges('Basic realm="Registry \\"x\\"", Bearer  realm = https://t/token , service=reg'),
      [
        { scheme: 'basic', params: { realm: 'Registry "x"' } },
        { scheme: 'bearer', params: { realm: 'https://t/token', service: 'reg' } },
      ],
    );
  });
  it('ignores schemes it does not speak', function () {
    assert.deepEqual(parseChallenges('Negotiate abc, Digest realm="x"'), []);
    assert.deepEqual(parseChallenges(''), []);
  });
});

describe('registry: platforms', function () {
  it('parses and normalises platforms', function () {
    assert.deepEqual(parsePlatform('linux/x86_64'), { os: 'linux', architecture: 'amd64' });
    assert.deepEqual(parsePlatform('linux/aarch64/v8'), {
      os: 'linux',
      architecture: 'arm64',
      variant: 'v8',
    });
    assert.throws(() => parsePlatform('amd64', '--platform'), /--platform: "amd64" is not a platform/);
  });
  it('matches arm64 with and without v8, and variants when asked', function () {
    const arm64 = { os: 'linux', architecture: 'arm64' };
    assert.ok(platformMatches({ ...arm64, variant: 'v8' }, arm64));
    assert.ok(platformMatches(arm64, { ...arm64, variant: 'v8' }));
    assert.ok(
      !platformMatches(
        { os: 'linux', architecture: 'arm', variant: 'v6' },
        { os: 'linux', architecture: 'arm', variant: 'v7' },
      ),
    );
    assert.ok(
      !platformMatches({ os: 'windows', architecture: 'amd64' }, { os: 'linux', architecture: 'amd64' }),
    );
  });
  it('chooses from an index, skipping attestations, and lists what is offered', function () {
    const index = {
      schemaVersion: 2 as const,
      manifests: [
        {
          mediaType: MediaType.OciManifest,
          digest: D,
          size: 1,
          platform: { os: 'unknown', architecture: 'unknown' },
        },
        {
          mediaType: MediaType.OciManifest,
          digest: D.replace('b', 'c'),
          size: 1,
          platform: { os: 'linux', architecture: 'amd64' },
        },
      ],
    };
    assert.equal(
      selectPlatform(index, { os: 'linux', architecture: 'amd64' }, 'x').digest,
      D.replace('b', 'c'),
    );
    assert.throws(
      () => selectPlatform(index, { os: 'linux', architecture: 'riscv64' }, 'img'),
      /img has no image for linux\/riscv64; it offers linux\/amd64$/,
    );
  });
});

describe('registry: manifest checks', function () {
  const parse = (json: unknown, contentType = '') => {
    const bytes = Buffer.from(JSON.stringify(json));
    return parseManifestBytes(bytes, digestOf(bytes), contentType, 'manifest M of ref');
  };
  const desc = { mediaType: MediaType.OciLayerGzip, digest: D, size: 3 };
  it('accepts OCI and Docker manifests and indexes, media type from the body or the header', function () {
    assert.equal(
      parse({
        schemaVersion: 2,
        mediaType: MediaType.OciManifest,
        config: { ...desc, mediaType: MediaType.OciConfig },
        layers: [desc],
      }).kind,
      'manifest',
    );
    assert.equal(
      parse({ schemaVersion: 2, config: desc, layers: [] }, MediaType.DockerManifest).mediaType,
      MediaType.DockerManifest,
    );
    assert.equal(parse({ schemaVersion: 2, manifests: [desc] }).kind, 'index');
    assert.equal(
      parse({ schemaVersion: 2, mediaType: MediaType.DockerManifestList, manifests: [] }).kind,
      'index',
    );
  });
  const bad: [string, unknown, RegExp][] = [
    ['schema 1', { schemaVersion: 1, fsLayers: [] }, /Docker schema 1 manifest, which is not supported/],
    ['no layers', { schemaVersion: 2, mediaType: MediaType.OciManifest, config: desc }, /has no layers list/],
    [
      'a bad digest',
      { schemaVersion: 2, config: desc, layers: [{ ...desc, digest: 'sha256:../../etc' }] },
      /invalid digest "sha256:\.\.\/\.\.\/etc" in manifest M of ref layers\[0\]/,
    ],
    [
      'a negative size',
      { schemaVersion: 2, config: desc, layers: [{ ...desc, size: -1 }] },
      /layers\[0\] is not a descriptor/,
    ],
    [
      'an artifact type',
      { schemaVersion: 2, mediaType: 'application/vnd.example+json', config: desc, layers: [] },
      /not an image manifest or index/,
    ],
    ['not JSON', 'nope', /is not valid JSON|not an object/],
  ];
  for (const [what, json, want] of bad) {
    it(`refuses ${what}`, function () {
      assert.throws(
        () =>
          typeof json === 'string'
            ? parseManifestBytes(Buffer.from(json), digestOf(json), '', 'manifest M of ref')
            : parse(json),
        (e: unknown) => e instanceof StrataError && want.test(e.message),
      );
    });
  }
  it('refuses a body whose mediaType disagrees with the Content-Type', function () {
    assert.throws(
      () =>
        parse(
          { schemaVersion: 2, mediaType: MediaType.OciManifest, config: desc, layers: [] },
          MediaType.DockerManifestList,
        ),
      /says it is .* but was served as/,
    );
  });
});
