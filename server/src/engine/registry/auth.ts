// Registry authentication (the distribution "token" spec and plain basic auth):
// - a 401 carries `WWW-Authenticate: Bearer realm="…",service="…",scope="…"` or `Basic realm="…"`;
// - for Bearer, ask the realm for a token for the scopes we need (with the user's credentials as
//   basic auth, or an identity token through the OAuth2 refresh-token grant), and cache it until it
//   expires; for Basic, send the credentials with every request.
// Credentials are sent to a token realm over plain http only when that host may use http.
import { StrataError } from '../errors';
import type { Credential } from './credentials';
import { readBody, send, type TransportOptions } from './transport';

export interface Challenge {
  scheme: 'bearer' | 'basic';
  params: Record<string, string>;
}

/** Parses a WWW-Authenticate header (one or more challenges; quoted values may hold commas). */
export function parseChallenges(header: string): Challenge[] {
  const challenges: Challenge[] = [];
  let current: Challenge | undefined;
  let i = 0;
  const skip = (chars: string) => {
    while (i < header.length && chars.includes(header[i]!)) i++;
  };
  const token = () => {
    const m = /^[A-Za-z0-9_.!#$%&'*+^`|~-]+/.exec(header.slice(i));
    i += m ? m[0].length : 0;
    return m ? m[0] : '';
  };
  while (i < header.length) {
    skip(' \t,');
    const word = token();
    if (!word) break;
    skip(' \t');
    if (header[i] !== '=') {
      const scheme = word.toLowerCase();
      current = scheme === 'bearer' || scheme === 'basic' ? { scheme, params: {} } : undefined;
      if (current) challenges.push(current);
      continue;
    }
    i++;
    skip(' \t');
    let value = '';
    if (header[i] === '"') {
      for (i++; i < header.length && header[i] !== '"'; i++) {
        if (header[i] === '\\') i++;
        value += header[i] ?? '';
      }
      i++;
    } else {
      // Unquoted: lenient (RFC 7235 allows only a token, but realms are URLs in the wild).
      const m = /^[^,\s]*/.exec(header.slice(i))!;
      value = m[0];
      i += value.length;
    }
    if (current) current.params[word.toLowerCase()] = value;
  }
  return challenges;
}

interface CachedToken {
  header: string;
  expiresAt: number;
}

function basicHeader(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
}

/** Caches Bearer tokens per realm, service and scope set, until shortly before they expire. */
export class TokenCache {
  private readonly tokens = new Map<string, CachedToken>();
  private readonly pending = new Map<string, Promise<CachedToken>>();

  constructor(private readonly transport: TransportOptions) {}

  /** The Authorization header for requests covered by `scopes`, after the server's challenge. */
  async authorize(
    challenge: Challenge,
    scopes: string[],
    credential: Credential | undefined,
    host: string,
  ): Promise<string> {
    if (challenge.scheme === 'basic') {
      if (!credential || credential.kind !== 'basic') {
        throw new StrataError(
          'REGISTRY',
          `${host} asks for a user name and password`,
          `run "docker login ${host}" (or add it to ~/.docker/config.json)`,
        );
      }
      return basicHeader(credential.username, credential.password);
    }
    if (credential?.kind === 'registry-token') return `Bearer ${credential.token}`;
    const realm = challenge.params.realm;
    if (!realm)
      throw new StrataError(
        'REGISTRY',
        `${host} sent a Bearer challenge without a realm`,
        'the registry is misconfigured',
      );
    const key = [
      realm,
      challenge.params.service ?? '',
      [...scopes].sort().join(' '),
      credential ? JSON.stringify(credential) : '',
    ].join('|');
    const cached = this.tokens.get(key);
    if (cached && cached.expiresAt > Date.now()) return cached.header;
    let pending = this.pending.get(key);
    if (!pending) {
      pending = this.fetchToken(realm, challenge.params.service, scopes, credential, host).finally(() =>
        this.pending.delete(key),
      );
      this.pending.set(key, pending);
    }
    const token = await pending;
    this.tokens.set(key, token);
    return token.header;
  }

  /** Forgets a token the registry refused (it may have been revoked early). */
  forget(header: string): void {
    for (const [k, v] of this.tokens) if (v.header === header) this.tokens.delete(k);
  }

  private async fetchToken(
    realm: string,
    service: string | undefined,
    scopes: string[],
    credential: Credential | undefined,
    host: string,
  ): Promise<CachedToken> {
    let url: URL;
    try {
      url = new URL(realm);
    } catch {
      throw new StrataError(
        'REGISTRY',
        `${host} sent a token realm that is not a URL: ${realm}`,
        'the registry is misconfigured',
      );
    }
    if (
      url.protocol !== 'https:' &&
      !(url.protocol === 'http:' && this.transport.allowsPlainHttp(url.host))
    ) {
      throw new StrataError(
        'REGISTRY',
        `${host} wants tokens from ${realm}, which is not https`,
        `mark ${url.host} insecure in the Strata config if that is intended`,
      );
    }
    const headers: Record<string, string> = { Accept: 'application/json' };
    let res;
    if (credential?.kind === 'identity-token') {
      const form = new URLSearchParams({
        grant_type: 'refresh_token',
        refresh_token: credential.token,
        client_id: 'strata',
      });
      if (service) form.set('service', service);
      if (scopes.length) form.set('scope', scopes.join(' '));
      headers['Content-Type'] = 'application/x-www-form-urlencoded';
      res = await send(
        { method: 'POST', url: url.toString(), headers, body: () => Buffer.from(form.toString()) },
        this.transport,
      );
    } else {
      if (service) url.searchParams.set('service', service);
      for (const s of scopes) url.searchParams.append('scope', s);
      if (credential?.kind === 'basic')
        headers.Authorization = basicHeader(credential.username, credential.password);
      res = await send({ method: 'GET', url: url.toString(), headers }, this.transport);
    }
    const body = await readBody(res, 1 << 20);
    if (res.status === 401 || res.status === 403) {
      throw new StrataError(
        'REGISTRY',
        `the token service of ${host} (${url.host}) refused ${credential ? 'the credentials' : 'anonymous access'} for ${scopes.join(', ')} (HTTP ${res.status})`,
        credential
          ? `check the credentials for ${host} (run "docker login ${host}" again)`
          : `log in first: "docker login ${host}"`,
      );
    }
    if (res.status !== 200) {
      throw new StrataError(
        'REGISTRY',
        `the token service of ${host} answered HTTP ${res.status}: ${body.toString('utf8').slice(0, 200)}`,
        'try again later',
      );
    }
    let answer: { token?: unknown; access_token?: unknown; expires_in?: unknown; issued_at?: unknown };
    try {
      answer = JSON.parse(body.toString('utf8')) as typeof answer;
    } catch {
      throw new StrataError(
        'REGISTRY',
        `the token service of ${host} answered something that is not JSON`,
        'the registry is misconfigured',
      );
    }
    const token =
      typeof answer.token === 'string'
        ? answer.token
        : typeof answer.access_token === 'string'
          ? answer.access_token
          : '';
    if (!token)
      throw new StrataError(
        'REGISTRY',
        `the token service of ${host} answered without a token`,
        'the registry is misconfigured',
      );
    // The spec: expires_in defaults to 60 s. Renew 10 s early so a token does not lapse mid-request.
    const lifetime = typeof answer.expires_in === 'number' && answer.expires_in > 0 ? answer.expires_in : 60;
    const issued = typeof answer.issued_at === 'string' ? Date.parse(answer.issued_at) : NaN;
    const start = Number.isFinite(issued) && issued <= Date.now() ? issued : Date.now();
    return { header: `Bearer ${token}`, expiresAt: start + Math.max(lifetime - 10, 1) * 1000 };
  }
}
