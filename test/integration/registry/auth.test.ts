// Authentication against real registries: basic auth (htpasswd) and token auth (`auth: token` with a
// token issuer in the test), credentials from a Docker config file: auths, credsStore and
// credHelpers through real docker-credential-* programs on PATH.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  cliBundle,
  requirePrerequisites,
  runCli,
  sharedRegistry,
  useTempStrataHome,
  type Registry,
} from '../../support';
import { StrataError } from '../../../server/src/engine/errors';
import { RegistryClient } from '../../../server/src/engine/registry/client';
import { pullImage } from '../../../server/src/engine/registry/pull';
import { pushImage } from '../../../server/src/engine/registry/push';
import { openStore } from '../../../server/src/engine/store/store';
import {
  PASSWORD,
  REFRESH_TOKEN,
  USER,
  seedBusybox,
  startBasicAuthRegistry,
  startTokenRegistry,
  type TokenRegistry,
} from './helpers/auth';
import { useIsolatedRegistryEnv, type IsolatedEnv } from './helpers/env';
import { makeImage, noise } from './helpers/images';

const basic = (u: string, p: string) => Buffer.from(`${u}:${p}`).toString('base64');

function writeDockerConfig(iso: IsolatedEnv, config: object): void {
  fs.writeFileSync(path.join(iso.dockerConfig, 'config.json'), JSON.stringify(config));
}

/** A docker-credential-NAME script on PATH that answers for `host` and logs what it was asked. */
function installHelper(iso: IsolatedEnv, name: string, host: string, user: string, secret: string): string {
  const bin = path.join(iso.dockerConfig, 'bin');
  fs.mkdirSync(bin, { recursive: true });
  const log = path.join(bin, `${name}.log`);
  fs.writeFileSync(
    path.join(bin, `docker-credential-${name}`),
    `#!/bin/sh
[ "$1" = get ] || exit 2
read -r server
echo "$server" >> ${log}
if [ "$server" = "${host}" ]; then
  printf '{"ServerURL":"%s","Username":"${user}","Secret":"${secret}"}\\n' "$server"
else
  echo "credentials not found in native keychain"; exit 1
fi
`,
    { mode: 0o755 },
  );
  iso.vars.PATH = `${bin}:${iso.vars.PATH}`;
  return log;
}

describe('registry: authentication', function () {
  let shared: Registry;
  const home = useTempStrataHome();
  const iso = useIsolatedRegistryEnv();
  before(async function () {
    requirePrerequisites(this, {
      commands: ['docker-registry', 'skopeo', 'htpasswd', 'openssl'],
      files: [cliBundle],
    });
    shared = await sharedRegistry();
  });

  describe('basic auth (htpasswd)', function () {
    let reg: Registry;
    before(async function () {
      reg = await startBasicAuthRegistry();
      await seedBusybox(shared.host, reg.host, `${USER}:${PASSWORD}`);
    });
    after(async () => reg?.stop());
    const ref = () => `${reg.host}/library/busybox:latest`;

    it('without credentials: a clear error that says how to log in', async function () {
      const r = await runCli(['pull', ref()], { env: { ...iso.vars, STRATA_HOME: home.home } });
      assert.equal(r.code, 1);
      assert.match(r.stderr, new RegExp(`${reg.host} asks for a user name and password`));
      assert.match(r.stderr, new RegExp(`hint: run "docker login ${reg.host}"`));
    });

    it('with "auths" in config.json', async function () {
      writeDockerConfig(iso, { auths: { [`https://${reg.host}/v1/`]: { auth: basic(USER, PASSWORD) } } });
      const r = await runCli(['pull', ref()], { env: { ...iso.vars, STRATA_HOME: home.home } });
      assert.equal(r.code, 0, r.stderr);
    });

    it('a wrong password is reported as refused credentials', async function () {
      writeDockerConfig(iso, { auths: { [reg.host]: { username: USER, password: 'wrong' } } });
      await assert.rejects(
        pullImage(ref(), { store: openStore(home.home), client: new RegistryClient({ env: iso.vars }) }),
        (e: unknown) => {
          assert.ok(e instanceof StrataError);
          assert.match(e.message, /authentication failed \(the registry refused the credentials\)/);
          return true;
        },
      );
    });

    it('with a credsStore helper program', async function () {
      const log = installHelper(iso, 'strata-store', reg.host, USER, PASSWORD);
      writeDockerConfig(iso, { credsStore: 'strata-store', auths: { [reg.host]: {} } });
      const r = await runCli(['pull', ref()], { env: { ...iso.vars, STRATA_HOME: home.home } });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(fs.readFileSync(log, 'utf8').trim(), reg.host, 'the helper was asked once, for this host');
    });

    it('with credHelpers for this host, preferred over credsStore', async function () {
      installHelper(iso, 'strata-host', reg.host, USER, PASSWORD);
      installHelper(iso, 'strata-wrong', reg.host, USER, 'wrong');
      writeDockerConfig(iso, { credsStore: 'strata-wrong', credHelpers: { [reg.host]: 'strata-host' } });
      const r = await pullImage(ref(), {
        store: openStore(home.home),
        client: new RegistryClient({ env: iso.vars }),
      });
      assert.match(r.digest, /^sha256:/);
    });

    it('a helper that is not installed is named in the error', async function () {
      writeDockerConfig(iso, { credHelpers: { [reg.host]: 'not-installed' } });
      const r = await runCli(['pull', ref()], { env: { ...iso.vars, STRATA_HOME: home.home } });
      assert.equal(r.code, 1);
      assert.match(
        r.stderr,
        /credential helper docker-credential-not-installed \(for 127\.0\.0\.1:\d+, set in .*config\.json\) could not be run/,
      );
      assert.match(r.stderr, /hint: install docker-credential-not-installed on PATH/);
    });
  });

  describe('token auth (auth: token, RS256 JWTs from a test issuer)', function () {
    let t: TokenRegistry;
    before(async function () {
      t = await startTokenRegistry();
      await seedBusybox(shared.host, t.registry.host, `${USER}:${PASSWORD}`);
    });
    after(async () => t?.stop());
    beforeEach(() => {
      t.issuer.requests.length = 0;
    });
    const ref = () => `${t.registry.host}/library/busybox:latest`;

    it('pulls anonymously with a pull-scoped token, and reuses the token until it expires', async function () {
      const client = new RegistryClient({ env: iso.vars });
      await pullImage(ref(), { store: openStore(home.home), client });
      await pullImage(ref(), { store: openStore(home.home), client, name: 'again' });
      assert.deepEqual(t.issuer.requests, [{ scope: ['repository:library/busybox:pull'] }]);
    });

    it('pushes with credentials from a helper: the token asks for pull,push as the user', async function () {
      installHelper(iso, 'strata-token', t.registry.host, USER, PASSWORD);
      writeDockerConfig(iso, { credHelpers: { [t.registry.host]: 'strata-token' } });
      const store = openStore(home.home);
      await makeImage(store, 'strata/tok', [{ f: noise(4096, 9) }]);
      const r = await runCli(['push', 'strata/tok', `${t.registry.host}/lab/tok:1`], {
        env: { ...iso.vars, STRATA_HOME: home.home },
      });
      assert.equal(r.code, 0, r.stderr);
      assert.ok(
        t.issuer.requests.some((q) => q.user === USER && q.scope.includes('repository:lab/tok:pull,push')),
        JSON.stringify(t.issuer.requests),
      );
    });

    it('an anonymous push is refused with a hint to log in', async function () {
      const store = openStore(home.home);
      await makeImage(store, 'strata/anon', [{ f: noise(4096, 10) }]);
      await assert.rejects(
        pushImage('strata/anon', `${t.registry.host}/lab/anon:1`, {
          store,
          client: new RegistryClient({ env: iso.vars }),
        }),
        (e: unknown) => {
          assert.ok(e instanceof StrataError);
          assert.match(e.message, /lab\/anon: authentication failed \(no credentials found\)/);
          assert.match(e.hint ?? '', /docker login/);
          return true;
        },
      );
    });

    it('fetches a new token once the cached one expires', async function () {
      t.issuer.expiresIn = 11; // cached for 1 s (renewed 10 s before expiry)
      try {
        const client = new RegistryClient({ env: iso.vars });
        await pullImage(ref(), { store: openStore(home.home), client, unpack: false });
        const before = t.issuer.requests.length;
        await new Promise((r) => setTimeout(r, 1500));
        await pullImage(ref(), { store: openStore(home.home), client, unpack: false, name: 'again' });
        assert.ok(t.issuer.requests.length > before, JSON.stringify(t.issuer.requests));
      } finally {
        t.issuer.expiresIn = 300;
      }
    });

    it('exchanges an identity token (docker login with OAuth) through the refresh-token grant', async function () {
      writeDockerConfig(iso, { auths: { [t.registry.host]: { identitytoken: REFRESH_TOKEN } } });
      const store = openStore(home.home);
      await makeImage(store, 'strata/idt', [{ f: noise(2048, 11) }]);
      const r = await pushImage('strata/idt', `${t.registry.host}/lab/idt:1`, {
        store,
        client: new RegistryClient({ env: iso.vars }),
      });
      assert.equal(r.uploaded.length, 2);
      assert.ok(
        t.issuer.requests.some(
          (q) => q.user === `${USER} (refresh token)` && q.scope.includes('repository:lab/idt:pull,push'),
        ),
        JSON.stringify(t.issuer.requests),
      );
    });

    it('a wrong password is refused by the token service, and said so', async function () {
      writeDockerConfig(iso, { auths: { [t.registry.host]: { auth: basic(USER, 'nope') } } });
      await assert.rejects(
        pullImage(ref(), { store: openStore(home.home), client: new RegistryClient({ env: iso.vars }) }),
        (e: unknown) => {
          assert.ok(e instanceof StrataError);
          assert.match(
            e.message,
            /the token service of 127\.0\.0\.1:\d+ \(127\.0\.0\.1:\d+\) refused the credentials for repository:library\/busybox:pull \(HTTP 401\)/,
          );
          return true;
        },
      );
    });
  });
});
