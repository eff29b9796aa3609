// Registries with authentication, for tests: basic auth from an htpasswd file (made by Apache's
// htpasswd -B, as the distribution docs say) and token auth with a small token issuer that signs
// RS256 JWTs with a key whose certificate the registry trusts (the distribution token spec).
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { makeTempDir, startRegistry, type Registry } from '../../../support';
import { run } from './env';

export const USER = 'alice';
export const PASSWORD = 's3cret-pw';
/** The identity token (OAuth2 refresh token) the issuer accepts for alice. */
export const REFRESH_TOKEN = 'refresh-for-alice';

/** A registry that asks for basic auth (alice / s3cret-pw). */
export async function startBasicAuthRegistry(): Promise<Registry> {
  const dir = makeTempDir('htpasswd');
  const file = path.join(dir, 'htpasswd');
  const { stdout } = await run('htpasswd', ['-Bbn', USER, PASSWORD]);
  fs.writeFileSync(file, stdout);
  const reg = await startRegistry({
    extraConfig: `auth:\n  htpasswd:\n    realm: strata-test\n    path: ${file}\n`,
  });
  const stop = reg.stop;
  return { ...reg, stop: async () => (await stop(), fs.rmSync(dir, { recursive: true, force: true })) };
}

/** libtrust's key id: base32 of the first 30 bytes of sha256(DER public key), in groups of 4. */
function libtrustKeyId(publicKey: crypto.KeyObject): string {
  const der = publicKey.export({ type: 'spki', format: 'der' });
  const sum = crypto.createHash('sha256').update(der).digest().subarray(0, 30);
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const b of sum) bits += b.toString(2).padStart(8, '0');
  let b32 = '';
  for (let i = 0; i + 5 <= bits.length; i += 5) b32 += alphabet[parseInt(bits.slice(i, i + 5), 2)];
  return b32.match(/.{4}/g)!.join(':');
}

const b64url = (b: Buffer | string) => Buffer.from(b).toString('base64url');

export interface TokenIssuer {
  url: string;
  /** Every token request: the scopes asked for and whether credentials came with it. */
  requests: { scope: string[]; user?: string }[];
  /** Issued token lifetime in seconds. */
  expiresIn: number;
  stop(): Promise<void>;
}

export interface TokenRegistry {
  registry: Registry;
  issuer: TokenIssuer;
  stop(): Promise<void>;
}

/**
 * A registry with `auth: token`, and its issuer: anonymous users get pull on any repository;
 * alice (with her password) also gets push. Wrong passwords get 401.
 */
export async function startTokenRegistry(): Promise<TokenRegistry> {
  const dir = makeTempDir('token');
  const key = path.join(dir, 'key.pem');
  const cert = path.join(dir, 'cert.pem');
  await run('openssl', [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    key,
    '-out',
    cert,
    '-subj',
    '/CN=strata-test-token',
    '-days',
    '2',
  ]);
  const privateKey = crypto.createPrivateKey(fs.readFileSync(key));
  const kid = libtrustKeyId(crypto.createPublicKey(privateKey));
  const issuer: TokenIssuer = { url: '', requests: [], expiresIn: 300, stop: async () => {} };
  const server = http.createServer((req, res) => {
    if (req.method === 'POST') {
      // The OAuth2 refresh-token grant (docker's identity tokens): the form names the scopes.
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        const form = new URLSearchParams(body);
        const scopes = (form.get('scope') ?? '').split(' ').filter(Boolean);
        if (form.get('grant_type') !== 'refresh_token' || form.get('refresh_token') !== REFRESH_TOKEN) {
          issuer.requests.push({ scope: scopes, user: 'bad-refresh-token' });
          res.writeHead(401, { 'Content-Type': 'application/json' });
          res.end('{"details":"bad refresh token"}');
          return;
        }
        issuer.requests.push({ scope: scopes, user: `${USER} (refresh token)` });
        answer(res, scopes, USER);
      });
      return;
    }
    const url = new URL(req.url ?? '/', 'http://x');
    const scopes = url.searchParams.getAll('scope');
    let user: string | undefined;
    const auth = req.headers.authorization;
    if (auth?.startsWith('Basic ')) {
      const [u, p] = Buffer.from(auth.slice(6), 'base64').toString().split(':');
      if (u !== USER || p !== PASSWORD) {
        issuer.requests.push({ scope: scopes, user: `bad:${u}` });
        res.writeHead(401, { 'Content-Type': 'application/json' });
        res.end('{"details":"wrong user or password"}');
        return;
      }
      user = u;
    }
    issuer.requests.push({ scope: scopes, ...(user ? { user } : {}) });
    answer(res, scopes, user);
  });
  function answer(res: http.ServerResponse, scopes: string[], user: string | undefined): void {
    const access = scopes
      .flatMap((s) => s.split(' '))
      .map((s) => {
        const [type, name, actions] = s.split(':') as [string, string, string];
        const wanted = actions.split(',');
        return { type, name, actions: wanted.filter((a) => a === 'pull' || (a === 'push' && user === USER)) };
      });
    const now = Math.floor(Date.now() / 1000);
    const header = b64url(JSON.stringify({ typ: 'JWT', alg: 'RS256', kid }));
    const claims = b64url(
      JSON.stringify({
        iss: 'strata-test-issuer',
        sub: user ?? '',
        aud: 'strata-test',
        exp: now + issuer.expiresIn,
        nbf: now - 10,
        iat: now,
        jti: crypto.randomUUID(),
        access,
      }),
    );
    const signature = b64url(crypto.sign('sha256', Buffer.from(`${header}.${claims}`), privateKey));
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(
      JSON.stringify({
        token: `${header}.${claims}.${signature}`,
        expires_in: issuer.expiresIn,
        issued_at: new Date().toISOString(),
      }),
    );
  }
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  issuer.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/token`;
  issuer.stop = () => new Promise((resolve) => (server.closeAllConnections(), server.close(() => resolve())));
  const registry = await startRegistry({
    extraConfig: `auth:\n  token:\n    realm: ${issuer.url}\n    service: strata-test\n    issuer: strata-test-issuer\n    rootcertbundle: ${cert}\n`,
  });
  return {
    registry,
    issuer,
    stop: async () => {
      await registry.stop();
      await issuer.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Copies busybox from the shared registry into `target` (with credentials when given). */
export async function seedBusybox(from: string, target: string, creds?: string): Promise<void> {
  await run('skopeo', [
    'copy',
    '-q',
    '--src-tls-verify=false',
    '--dest-tls-verify=false',
    ...(creds ? ['--dest-creds', creds] : []),
    `docker://${from}/library/busybox:latest`,
    `docker://${target}/library/busybox:latest`,
  ]);
}
