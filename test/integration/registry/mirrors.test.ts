// Mirrors and insecure hosts from $XDG_CONFIG_HOME/strata/config.yaml and STRATA_REGISTRY_MIRRORS.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  cliBundle,
  inCI,
  requirePrerequisites,
  runCli,
  sharedRegistry,
  useTempStrataHome,
  type Registry,
} from '../../support';
import { StrataError } from '../../../server/src/engine/errors';
import { RegistryClient } from '../../../server/src/engine/registry/client';
import { pullImage } from '../../../server/src/engine/registry/pull';
import { openStore } from '../../../server/src/engine/store/store';
import { useIsolatedRegistryEnv, type IsolatedEnv } from './helpers/env';
import { startProxy, type Proxy } from './helpers/proxy';

function writeConfig(iso: IsolatedEnv, text: string): string {
  const file = path.join(iso.xdgConfig, 'strata', 'config.yaml');
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
  return file;
}

/** A non-loopback address of this machine, if it has one (for the insecure-host case). */
function externalAddress(): string | undefined {
  for (const list of Object.values(os.networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return undefined;
}

describe('registry: mirrors and insecure hosts', function () {
  let reg: Registry;
  let proxy: Proxy;
  const home = useTempStrataHome();
  const iso = useIsolatedRegistryEnv();
  before(async function () {
    requirePrerequisites(this, { commands: ['docker-registry', 'skopeo'], files: [cliBundle] });
    reg = await sharedRegistry();
    proxy = await startProxy(reg.host);
  });
  after(async () => proxy?.stop());
  beforeEach(() => (proxy.log.length = 0));

  it('uses the mirrors of config.yaml in order, skipping one that is down', async function () {
    writeConfig(
      iso,
      `# test\nregistries:\n  docker.io:\n    mirrors:\n      - http://127.0.0.1:9\n      - ${proxy.url}\n`,
    );
    const r = await runCli(['pull', 'busybox:latest'], {
      env: { ...iso.vars, STRATA_HOME: home.home, STRATA_REGISTRY_ATTEMPTS: '1' },
    });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`from ${proxy.url}`));
    assert.ok(proxy.log.some((e) => e.path === '/v2/library/busybox/manifests/latest'));
  });

  it("tries STRATA_REGISTRY_MIRRORS before the file's mirrors", async function () {
    writeConfig(iso, `registries:\n  docker.io:\n    mirrors: [${proxy.url}]\n`);
    const client = new RegistryClient({
      env: { ...iso.vars, STRATA_REGISTRY_MIRRORS: `docker.io=${reg.url}` },
    });
    const r = await pullImage('busybox', { store: openStore(home.home), client });
    assert.equal(r.from, reg.url);
    assert.equal(proxy.log.length, 0);
  });

  it('mirrors only docker.io when only docker.io is configured', async function () {
    const client = new RegistryClient({
      env: { ...iso.vars, STRATA_REGISTRY_MIRRORS: `docker.io=${proxy.url}`, STRATA_REGISTRY_ATTEMPTS: '1' },
    });
    await assert.rejects(
      pullImage('quay.io/org/tool:1', { store: openStore(home.home), client }),
      /cannot reach quay\.io/,
    );
    assert.equal(proxy.log.length, 0);
  });

  it('reports a bad config file with its file, line and column', async function () {
    const file = writeConfig(iso, `registries:\n  docker.io:\n    mirrors: [ftp://example.org]\n`);
    const r = await runCli(['pull', 'busybox'], { env: { ...iso.vars, STRATA_HOME: home.home } });
    assert.equal(r.code, 2);
    assert.match(
      r.stderr,
      new RegExp(`${file.replace(/\./g, '\\.')}:3:15: mirror "ftp://example.org" must use http or https`),
    );
    writeConfig(iso, `registries:\n  docker.io:\n    mirorrs: [http://x]\n`);
    const r2 = await runCli(['pull', 'busybox'], { env: { ...iso.vars, STRATA_HOME: home.home } });
    assert.match(r2.stderr, /config\.yaml:3:5: unknown registry setting "mirorrs"/);
    assert.match(r2.stderr, /hint: known settings: mirrors, insecure/);
  });

  it('reports a malformed STRATA_REGISTRY_MIRRORS', async function () {
    const r = await runCli(['pull', 'busybox'], {
      env: { ...iso.vars, STRATA_HOME: home.home, STRATA_REGISTRY_MIRRORS: 'docker.io' },
    });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /STRATA_REGISTRY_MIRRORS: "docker\.io" is not HOST=URL/);
  });

  describe('a registry on a non-loopback address', function () {
    let outside: Proxy | undefined;
    before(async function () {
      const address = externalAddress();
      if (!address) {
        // As requirePrerequisites: a machine without such an address cannot show the case; CI must.
        if (inCI) throw new Error('no non-loopback IPv4 address on this machine (CI=true: may not skip)');
        this.skip();
      }
      outside = await startProxy(reg.host, address);
    });
    after(async () => outside?.stop());

    it('is reached over HTTPS unless marked insecure, then over HTTP', async function () {
      const ref = `${outside!.host}/library/busybox:latest`;
      const plain = await runCli(['pull', ref], {
        env: { ...iso.vars, STRATA_HOME: home.home, STRATA_REGISTRY_ATTEMPTS: '1' },
      });
      assert.equal(plain.code, 1);
      assert.match(plain.stderr, /TLS handshake failed.*mark it insecure|cannot reach/);
      writeConfig(iso, `registries:\n  ${outside!.host}:\n    insecure: true\n`);
      const client = new RegistryClient({ env: iso.vars });
      const r = await pullImage(ref, { store: openStore(home.home), client });
      assert.equal(r.from, `http://${outside!.host}`);
    });
  });

  it('errors name every place tried when all mirrors and the registry fail', async function () {
    const client = new RegistryClient({
      env: {
        ...iso.vars,
        STRATA_REGISTRY_MIRRORS: 'docker.io=http://127.0.0.1:9',
        STRATA_REGISTRY_ATTEMPTS: '1',
      },
    });
    await assert.rejects(pullImage('busybox', { store: openStore(home.home), client }), (e: unknown) => {
      assert.ok(e instanceof StrataError);
      assert.match(
        e.message,
        /cannot get docker\.io\/library\/busybox:latest from any of 2 places:\n  mirror http:\/\/127\.0\.0\.1:9: cannot reach 127\.0\.0\.1:9: connection refused/,
      );
      assert.match(
        e.message,
        /registry https:\/\/registry-1\.docker\.io: cannot reach registry-1\.docker\.io/,
      );
      return true;
    });
  });
});
