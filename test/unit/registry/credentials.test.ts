// Reading ~/.docker/config.json "auths" entries (helpers are exercised with real programs in the
// integration suite).
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CredentialStore } from '../../../server/src/engine/registry/credentials';

describe('registry: docker config credentials', function () {
  let dir = '';
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-creds-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));
  const store = (config: unknown) => {
    const file = path.join(dir, 'config.json');
    fs.writeFileSync(file, typeof config === 'string' ? config : JSON.stringify(config));
    return new CredentialStore({ PATH: '/nonexistent' }, file);
  };
  const b64 = (s: string) => Buffer.from(s).toString('base64');

  it('decodes "auth", keeps passwords with colons, and finds Docker Hub under its historical key', async function () {
    const s = store({
      auths: {
        'https://index.docker.io/v1/': { auth: b64('me:pa:ss') },
        'ghcr.io': { username: 'u', password: 'p' },
      },
    });
    assert.deepEqual(await s.get('docker.io'), { kind: 'basic', username: 'me', password: 'pa:ss' });
    assert.deepEqual(await s.get('registry-1.docker.io'), {
      kind: 'basic',
      username: 'me',
      password: 'pa:ss',
    });
    assert.deepEqual(await s.get('ghcr.io'), { kind: 'basic', username: 'u', password: 'p' });
    assert.equal(await s.get('quay.io'), undefined);
  });

  it('reads identity and registry tokens', async function () {
    const s = store({
      auths: { 'a.example': { identitytoken: 'refresh' }, 'b.example': { registrytoken: 'bearer' } },
    });
    assert.deepEqual(await s.get('a.example'), {
      kind: 'identity-token',
      token: 'refresh',
      username: undefined,
    });
    assert.deepEqual(await s.get('b.example'), { kind: 'registry-token', token: 'bearer' });
  });

  it('no file means anonymous', async function () {
    assert.equal(await new CredentialStore({}, path.join(dir, 'missing.json')).get('x.example'), undefined);
  });

  it('names the file when it is not JSON, or an auth is not user:password', async function () {
    await assert.rejects(store('{nope').get('x'), new RegExp(`${dir}/config\\.json is not valid JSON`));
    await assert.rejects(
      store({ auths: { x: { auth: b64('nocolon') } } }).get('x'),
      /auths\["x"\]\): "auth" is not base64 of "user:password"/,
    );
  });

  it('refuses a helper name that could be a path', async function () {
    await assert.rejects(
      store({ credsStore: '../../bin/sh' }).get('x'),
      /credential helper name "\.\.\/\.\.\/bin\/sh" is not valid/,
    );
  });
});
