// HTTP for the registry client, on node:http/https rather than fetch: bodies are streamed byte for
// byte (fetch would silently undo a Content-Encoding, and hides redirects we must police), uploads
// stream from files, and every socket is cancellable.
//
// Policies that defend against hostile or broken servers:
// - Redirects (GET/HEAD only) are followed at most 10 times; Authorization is sent only to the
//   host the request was made to, never to the host a redirect points at (blob downloads are
//   routinely redirected to object storage; a token must not travel there).
// - A redirect from https to plain http is refused unless that host may use http.
// - Connection errors, 5xx and 429 are retried with exponential backoff when the body can be
//   replayed; other statuses are returned to the caller.
import * as http from 'node:http';
import * as https from 'node:https';
import { Readable } from 'node:stream';
import { StrataError } from '../errors';

export type Method = 'GET' | 'HEAD' | 'PUT' | 'POST' | 'PATCH' | 'DELETE';

export interface HttpRequest {
  method: Method;
  url: string;
  headers?: Record<string, string>;
  /** Makes the body; called again for each retry so a stream can be reopened. */
  body?: () => Buffer | Readable;
}

export interface HttpResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** The URL that answered (after redirects). */
  url: string;
  body: Readable;
}

export interface TransportOptions {
  signal?: AbortSignal;
  /** May this host (host[:port]) be reached over plain http? */
  allowsPlainHttp(host: string): boolean;
  /** Attempts per request for retryable failures (default 4). */
  attempts?: number;
  /** First backoff delay in ms (doubled each time; default 250). */
  backoffMs?: number;
  /** Socket idle timeout in ms (default 60 s). */
  idleTimeoutMs?: number;
}

const MAX_REDIRECTS = 10;
const httpAgent = new http.Agent({ keepAlive: true, maxSockets: 16 });
const httpsAgent = new https.Agent({ keepAlive: true, maxSockets: 16 });

/** A failure to talk to the server at all (refused, reset, timed out): worth retrying. */
export class ConnectionError extends Error {
  constructor(
    readonly url: string,
    override readonly cause: Error,
  ) {
    super(`cannot reach ${new URL(url).host}: ${describeNetworkError(cause)}`);
  }
}

function describeNetworkError(e: Error): string {
  const code = (e as NodeJS.ErrnoException).code;
  switch (code) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ECONNRESET':
      return 'connection reset';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'host name not found';
    case 'ETIMEDOUT':
      return 'timed out';
    case 'EPROTO':
    case 'ERR_SSL_WRONG_VERSION_NUMBER':
      return `TLS handshake failed (${e.message}); if the host speaks plain HTTP, mark it insecure`;
    default:
      return code ? `${e.message} (${code})` : e.message;
  }
}

/** Reads a (small) body, refusing more than `limit` bytes. */
export async function readBody(res: HttpResponse, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of res.body as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > limit) {
      res.body.destroy();
      throw new StrataError(
        'REGISTRY',
        `${new URL(res.url).host} sent more than ${limit} bytes for ${res.url}`,
        'the registry or a proxy in front of it misbehaves',
      );
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** Drops a response body we do not need, so the socket goes back to the pool. */
export function discard(res: HttpResponse): void {
  res.body.resume();
}

/** Waits `ms`, or rejects with the cancel at once when `signal` aborts (before or during). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(cancelled(signal));
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(cancelled(signal!));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function cancelled(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new StrataError('CANCELLED', 'cancelled');
}

function once(req: HttpRequest, options: TransportOptions): Promise<HttpResponse> {
  return new Promise((resolve, reject) => {
    const url = new URL(req.url);
    const lib = url.protocol === 'https:' ? https : http;
    const body = req.body?.();
    const headers: Record<string, string> = { 'User-Agent': 'strata/0.1', ...req.headers };
    if (Buffer.isBuffer(body)) headers['Content-Length'] = String(body.length);
    else if (!body && (req.method === 'PUT' || req.method === 'POST' || req.method === 'PATCH'))
      headers['Content-Length'] = '0';
    const request = lib.request(url, {
      method: req.method,
      headers,
      agent: url.protocol === 'https:' ? httpsAgent : httpAgent,
      signal: options.signal,
    });
    request.setTimeout(options.idleTimeoutMs ?? 60000, () => {
      const e = new Error('no answer within the timeout') as NodeJS.ErrnoException;
      e.code = 'ETIMEDOUT';
      request.destroy(e);
    });
    request.on('error', (e) => {
      if (body && !Buffer.isBuffer(body)) body.destroy(); // close the file an upload reads
      if (options.signal?.aborted) reject(cancelled(options.signal));
      else reject(new ConnectionError(req.url, e));
    });
    request.on('response', (res) => {
      res.on('error', () => {}); // surfaced to the reader of `body`
      resolve({ status: res.statusCode ?? 0, headers: res.headers, url: req.url, body: res });
    });
    if (body === undefined) request.end();
    else if (Buffer.isBuffer(body)) request.end(body);
    else {
      body.on('error', (e) => request.destroy(e));
      body.pipe(request);
    }
  });
}

function isRetryableStatus(status: number): boolean {
  return status >= 500 || status === 429;
}

function retryAfterMs(res: HttpResponse): number | undefined {
  const v = res.headers['retry-after'];
  if (typeof v !== 'string') return undefined;
  const s = Number(v);
  return Number.isFinite(s) ? Math.min(s * 1000, 10000) : undefined;
}

/** Sends a request, following redirects (GET/HEAD) and retrying connection errors, 5xx and 429. */
export async function send(req: HttpRequest, options: TransportOptions): Promise<HttpResponse> {
  const attempts = options.attempts ?? 4;
  const backoff = options.backoffMs ?? 250;
  let lastError: unknown;
  for (let attempt = 1; ; attempt++) {
    try {
      const res = await followRedirects(req, options);
      if (!isRetryableStatus(res.status) || attempt >= attempts) return res;
      discard(res);
      await sleep(
        retryAfterMs(res) ?? backoff * 2 ** (attempt - 1) * (0.75 + Math.random() / 2),
        options.signal,
      );
      continue;
    } catch (e) {
      lastError = e;
      if (!(e instanceof ConnectionError) || attempt >= attempts) break;
    }
    await sleep(backoff * 2 ** (attempt - 1) * (0.75 + Math.random() / 2), options.signal);
  }
  if (lastError instanceof ConnectionError) {
    throw new StrataError(
      'REGISTRY',
      `${lastError.message} (after ${attempts} attempts)`,
      'check that the registry is up and reachable, or configure a mirror (STRATA_REGISTRY_MIRRORS)',
      { cause: lastError },
    );
  }
  throw lastError;
}

async function followRedirects(req: HttpRequest, options: TransportOptions): Promise<HttpResponse> {
  const origin = new URL(req.url);
  let current = req;
  for (let hop = 0; ; hop++) {
    const res = await once(current, options);
    const location = res.headers.location;
    const redirect = [301, 302, 303, 307, 308].includes(res.status) && location;
    if (!redirect || (req.method !== 'GET' && req.method !== 'HEAD')) return res;
    discard(res);
    if (hop >= MAX_REDIRECTS) {
      throw new StrataError(
        'REGISTRY',
        `too many redirects from ${origin.host} for ${req.url}`,
        'the registry or a proxy in front of it loops',
      );
    }
    const next = new URL(location, current.url);
    if (next.protocol !== 'https:' && next.protocol !== 'http:') {
      throw new StrataError(
        'REGISTRY',
        `${origin.host} redirected ${req.url} to a non-HTTP URL (${next.protocol})`,
        'the registry misbehaves',
      );
    }
    if (next.protocol === 'http:' && !options.allowsPlainHttp(next.host)) {
      throw new StrataError(
        'REGISTRY',
        `${origin.host} redirected ${req.url} to plain http://${next.host}, which is not allowed`,
        `mark ${next.host} insecure in the Strata config if that is intended`,
      );
    }
    const headers = { ...current.headers };
    // Credentials belong to the host they were issued for: never forward them elsewhere.
    if (next.host !== origin.host || next.protocol !== origin.protocol) {
      for (const k of Object.keys(headers)) if (k.toLowerCase() === 'authorization') delete headers[k];
    }
    current = { ...current, url: next.toString(), headers };
  }
}
