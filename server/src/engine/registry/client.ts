// The registry client: one RegistryClient per operation (it holds the config, the credentials and
// the token cache), one RepositoryClient per endpoint and repository (it holds the Authorization
// header for that repository's scopes). Requests that meet a 401 learn the challenge, authenticate
// and are sent once more; the challenge is remembered per endpoint so later repositories
// authenticate up front.
import { StrataError } from '../errors';
import { TokenCache, parseChallenges, type Challenge } from './auth';
import { loadRegistryConfig, allowsPlainHttp, type Endpoint, type RegistryConfig } from './config';
import { CredentialStore } from './credentials';
import {
  readBody,
  send,
  type HttpRequest,
  type HttpResponse,
  type Method,
  type TransportOptions,
} from './transport';

export interface RegistryClientOptions {
  config?: RegistryConfig;
  credentials?: CredentialStore;
  signal?: AbortSignal;
  env?: NodeJS.ProcessEnv;
  /** Attempts for retryable failures (default 4) and the first backoff delay (default 250 ms). */
  attempts?: number;
  backoffMs?: number;
}

export type Action = 'pull' | 'push';

export class RegistryClient {
  readonly config: RegistryConfig;
  readonly credentials: CredentialStore;
  readonly transport: TransportOptions;
  readonly tokens: TokenCache;
  private readonly challenges = new Map<string, Challenge>();

  constructor(options: RegistryClientOptions = {}) {
    const env = options.env ?? process.env;
    this.config = options.config ?? loadRegistryConfig(env);
    this.credentials = options.credentials ?? new CredentialStore(env);
    this.transport = {
      signal: options.signal,
      allowsPlainHttp: (host) => allowsPlainHttp(this.config, host),
      attempts:
        options.attempts ?? (env.STRATA_REGISTRY_ATTEMPTS ? Number(env.STRATA_REGISTRY_ATTEMPTS) : undefined),
      backoffMs:
        options.backoffMs ??
        (env.STRATA_REGISTRY_BACKOFF_MS ? Number(env.STRATA_REGISTRY_BACKOFF_MS) : undefined),
    };
    this.tokens = new TokenCache(this.transport);
  }

  get signal(): AbortSignal | undefined {
    return this.transport.signal;
  }

  repository(endpoint: Endpoint, repository: string, actions: Action[]): RepositoryClient {
    return new RepositoryClient(this, endpoint, repository, actions);
  }

  /** @internal */
  challengeFor(endpoint: Endpoint): Challenge | undefined {
    return this.challenges.get(endpoint.base);
  }

  /** @internal */
  rememberChallenge(endpoint: Endpoint, challenge: Challenge): void {
    this.challenges.set(endpoint.base, challenge);
  }
}

export interface RepoRequest {
  method: Method;
  /** Path below /v2/<repository>/ ("manifests/latest"), or `url` for an absolute URL (upload locations). */
  path?: string;
  url?: string;
  headers?: Record<string, string>;
  body?: HttpRequest['body'];
}

export class RepositoryClient {
  private authorization: string | undefined;
  private readonly scopes: string[];

  constructor(
    readonly client: RegistryClient,
    readonly endpoint: Endpoint,
    readonly repository: string,
    actions: Action[],
  ) {
    this.scopes = [`repository:${repository}:${actions.join(',')}`];
  }

  /** Where messages say a request went: "127.0.0.1:5000/library/busybox". */
  get where(): string {
    return `${this.endpoint.host}/${this.repository}`;
  }

  /** Adds a scope (e.g. pull on the source repository of a cross-repository mount). */
  addScope(scope: string): void {
    if (!this.scopes.includes(scope)) {
      this.scopes.push(scope);
      this.authorization = undefined;
    }
  }

  url(path: string): string {
    return `${this.endpoint.base}/v2/${this.repository}/${path}`;
  }

  private async authorize(challenge: Challenge): Promise<string> {
    const credential = await this.client.credentials.get(
      this.endpoint.host === 'registry-1.docker.io' ? 'docker.io' : this.endpoint.host,
    );
    return this.client.tokens.authorize(challenge, this.scopes, credential, this.endpoint.host);
  }

  async request(req: RepoRequest): Promise<HttpResponse> {
    const url = req.url ?? this.url(req.path ?? '');
    const sameHost = new URL(url).host === new URL(this.endpoint.base).host;
    if (!this.authorization && sameHost) {
      const known = this.client.challengeFor(this.endpoint);
      if (known) this.authorization = await this.authorize(known);
    }
    const build = (): HttpRequest => ({
      method: req.method,
      url,
      headers: {
        ...req.headers,
        ...(this.authorization && sameHost ? { Authorization: this.authorization } : {}),
      },
      body: req.body,
    });
    let res = await send(build(), this.client.transport);
    if (res.status !== 401 || !sameHost) return res;
    const header = res.headers['www-authenticate'];
    await readBody(res, 1 << 16).catch(() => undefined);
    const challenges = parseChallenges(typeof header === 'string' ? header : '');
    const challenge =
      challenges.find((c) => c.scheme === 'bearer') ?? challenges.find((c) => c.scheme === 'basic');
    if (!challenge) {
      throw new StrataError(
        'REGISTRY',
        `${this.where} answered 401 without a usable WWW-Authenticate challenge`,
        'the registry is misconfigured',
      );
    }
    if (this.authorization) this.client.tokens.forget(this.authorization);
    this.client.rememberChallenge(this.endpoint, challenge);
    this.authorization = await this.authorize(challenge);
    res = await send(build(), this.client.transport);
    if (res.status === 401) {
      await readBody(res, 1 << 16).catch(() => undefined);
      const credential = await this.client.credentials.get(this.endpoint.host);
      throw new StrataError(
        'REGISTRY',
        `${this.where}: authentication failed (${credential ? 'the registry refused the credentials' : 'no credentials found'})`,
        credential
          ? `check the credentials for ${this.endpoint.host} in ~/.docker/config.json, or run "docker login ${this.endpoint.host}" again`
          : `log in first: "docker login ${this.endpoint.host}", or add it to ~/.docker/config.json`,
      );
    }
    return res;
  }
}

/** A StrataError for an unexpected answer, with the registry's own error codes and messages. */
export async function registryError(res: HttpResponse, what: string, where: string): Promise<StrataError> {
  let detail = '';
  let codes: string[] = [];
  if (res.status !== 0) {
    const body = await readBody(res, 1 << 16).catch(() => Buffer.alloc(0));
    try {
      const parsed = JSON.parse(body.toString('utf8')) as { errors?: { code?: string; message?: string }[] };
      codes = (parsed.errors ?? []).map((e) => String(e.code ?? ''));
      detail = (parsed.errors ?? []).map((e) => `${e.code ?? ''}: ${e.message ?? ''}`).join('; ');
    } catch {
      detail = body.toString('utf8').slice(0, 200).trim();
    }
  }
  const said = detail ? ` (${detail})` : '';
  if (res.status === 404 || codes.some((c) => c.endsWith('_UNKNOWN'))) {
    return new StrataError(
      'REF',
      `${what} not found at ${where}${said}`,
      'check the name, the tag or the digest (and the mirror configuration)',
    );
  }
  if (res.status === 403 || codes.includes('DENIED')) {
    return new StrataError(
      'REGISTRY',
      `${where} denied access to ${what}${said}`,
      'check that your account may access this repository',
    );
  }
  return new StrataError(
    'REGISTRY',
    `${where} answered HTTP ${res.status} for ${what}${said}`,
    res.status >= 500 ? 'the registry has a problem; try again later' : 'the registry refused the request',
  );
}
