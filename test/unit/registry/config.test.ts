// Registry configuration: mirrors and insecure hosts from the file and the environment, endpoint order.
import * as assert from 'node:assert/strict';
import { StrataError } from '../../../server/src/engine/errors';
import {
  addMirrorsFromEnv,
  allowsPlainHttp,
  isLoopbackHost,
  originEndpoint,
  parseConfigFile,
  pullEndpoints,
  type RegistryConfig,
} from '../../../server/src/engine/registry/config';

const empty = (): RegistryConfig => ({ hosts: new Map() });

describe('registry config', function () {
  it('orders endpoints: environment mirrors, file mirrors, then the registry', function () {
    const c = empty();
    addMirrorsFromEnv(c, 'docker.io=http://127.0.0.1:5000, index.docker.io=https://m2.example/prefix/');
    parseConfigFile(c, 'registries:\n  docker.io:\n    mirrors: [https://m3.example]\n', 'config.yaml');
    assert.deepEqual(
      pullEndpoints(c, 'docker.io').map((e) => [e.base, e.host, e.mirror]),
      [
        ['http://127.0.0.1:5000', '127.0.0.1:5000', true],
        ['https://m2.example/prefix', 'm2.example', true],
        ['https://m3.example', 'm3.example', true],
        ['https://registry-1.docker.io', 'registry-1.docker.io', false],
      ],
    );
    assert.deepEqual(
      pullEndpoints(c, 'ghcr.io').map((e) => e.base),
      ['https://ghcr.io'],
    );
  });

  it('uses plain HTTP only for loopback, insecure hosts and http mirrors', function () {
    const c = empty();
    parseConfigFile(
      c,
      'registries:\n  lab.internal:5000:\n    insecure: true\n  docker.io:\n    mirrors: [http://mirror.lab:80]\n',
      'f',
    );
    assert.equal(originEndpoint(c, 'lab.internal:5000').base, 'http://lab.internal:5000');
    assert.equal(originEndpoint(c, 'localhost:5000').base, 'http://localhost:5000');
    assert.equal(originEndpoint(c, '127.0.0.1:5000').base, 'http://127.0.0.1:5000');
    assert.equal(originEndpoint(c, 'ghcr.io').base, 'https://ghcr.io');
    assert.equal(allowsPlainHttp(c, 'mirror.lab:80'), true);
    assert.equal(allowsPlainHttp(c, 'evil.example'), false);
    for (const h of ['localhost', 'localhost:1', '127.0.0.1', '127.9.9.9:5000', '[::1]:5000'])
      assert.ok(isLoopbackHost(h), h);
    for (const h of ['127.0.0.1.evil.com', 'localhost.evil.com', '10.0.0.1:5000', '[::2]'])
      assert.ok(!isLoopbackHost(h), h);
  });

  const bad: [string, RegExp][] = [
    ['registries: [a]\n', /f:1:13: "registries" must map hosts to settings/],
    ['registries:\n  docker.io: 3\n', /f:2:3: each registry needs settings/],
    ['registries:\n  docker.io:\n    mirrors: http://x\n', /f:3:14: "mirrors" must be a list of URLs/],
    ['registries:\n  docker.io:\n    mirrors: [5]\n', /f:3:15: a mirror must be a URL string/],
    ['registries:\n  docker.io:\n    mirrors: ["not a url"]\n', /f:3:15: mirror "not a url" is not a URL/],
    [
      'registries:\n  docker.io:\n    mirrors: ["http://u:p@x"]\n',
      /may not carry a query, fragment or credentials/,
    ],
    ['registries:\n  x:\n    insecure: yes please\n', /f:3:15: "insecure" must be true or false/],
    ['registries:\n  x:\n    insecure: true\n   bad: [\n', /^f:\d+:\d+: /],
  ];
  for (const [text, want] of bad) {
    it(`refuses ${JSON.stringify(text.slice(12, 50))} with file:line:col`, function () {
      assert.throws(
        () => parseConfigFile(empty(), text, 'f'),
        (e: unknown) => e instanceof StrataError && want.test(e.message) && !!e.hint,
      );
    });
  }

  it('ignores other sections of the file and an empty file', function () {
    const c = empty();
    parseConfigFile(c, '', 'f');
    parseConfigFile(c, 'editor: {x: 1}\n', 'f');
    assert.equal(c.hosts.size, 0);
  });

  it('refuses malformed STRATA_REGISTRY_MIRRORS items', function () {
    assert.throws(() => addMirrorsFromEnv(empty(), 'docker.io'), /is not HOST=URL/);
    assert.throws(() => addMirrorsFromEnv(empty(), '=http://x'), /is not HOST=URL/);
    assert.throws(() => addMirrorsFromEnv(empty(), 'docker.io=file:///x'), /must use http or https/);
  });
});
