// An HTTP proxy in front of a real registry, for tests: it logs every request with the bytes of
// its body (to count what a push uploads) and can rewrite answers (to play a hostile registry or a
// broken network). The Host header is passed on unchanged, so the registry's upload Locations point
// back at the proxy and every byte goes through it.
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ProxyLogEntry {
  method: string;
  path: string;
  status: number;
  /** Bytes of the request body (what the client uploaded). */
  requestBytes: number;
  /** Bytes of the response body the proxy passed on (what the client downloaded). */
  responseBytes: number;
  /** The request's Range header, if any (resumed downloads). */
  range?: string;
  authorization?: string;
}

export interface Rewrite {
  status?: number;
  headers?: (h: http.IncomingHttpHeaders) => http.IncomingHttpHeaders;
  body?: (b: Buffer) => Buffer;
  /** Answer without asking the registry. */
  replace?: { status: number; headers: Record<string, string>; body: Buffer };
  /** Send the registry's answer but cut the connection after this many body bytes. */
  cutAfter?: number;
  /** Wait for this before asking the registry (to observe concurrent requests). */
  hold?: Promise<void>;
  /** Pass on this many body bytes, then send nothing more (the client waits; kill it meanwhile). */
  stallAfter?: number;
  /** Pass on this many body bytes, then the rest only once `until` resolves (a slow network). */
  pauseAfter?: { bytes: number; until: Promise<void> };
  /** Forward without the Range header, as a registry that ignores Range does (answers 200). */
  stripRange?: boolean;
}

export type Tamper = (req: {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
}) => Rewrite | undefined;

export interface Proxy {
  host: string;
  url: string;
  log: ProxyLogEntry[];
  tamper: Tamper | undefined;
  stop(): Promise<void>;
}

export async function startProxy(target: string, bindHost = '127.0.0.1'): Promise<Proxy> {
  const [targetHost, targetPort] = target.split(':') as [string, string];
  const proxy: Proxy = { host: '', url: '', log: [], tamper: undefined, stop: async () => {} };
  const server = http.createServer((req, res) => {
    const method = req.method ?? 'GET';
    const path = req.url ?? '/';
    const entry: ProxyLogEntry = {
      method,
      path,
      status: 0,
      requestBytes: 0,
      responseBytes: 0,
      ...(req.headers.range ? { range: req.headers.range } : {}),
      ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}),
    };
    proxy.log.push(entry);
    const rewrite = proxy.tamper?.({ method, path, headers: req.headers });
    req.on('data', (chunk: Buffer) => (entry.requestBytes += chunk.length));
    if (rewrite?.replace) {
      req.resume();
      req.on('end', () => {
        entry.status = rewrite.replace!.status;
        entry.responseBytes += rewrite.replace!.body.length;
        res.writeHead(rewrite.replace!.status, rewrite.replace!.headers);
        res.end(rewrite.replace!.body);
      });
      return;
    }
    if (rewrite?.hold) {
      const held = rewrite.hold;
      delete rewrite.hold;
      req.pause();
      void held.then(() => {
        req.resume();
        forward();
      });
      return;
    }
    forward();
    function forward(): void {
      const headers = { ...req.headers };
      if (rewrite?.stripRange) delete headers.range;
      const upstream = http.request(
        { host: targetHost, port: Number(targetPort), method, path, headers },
        (up) => {
          const status = rewrite?.status ?? up.statusCode ?? 502;
          entry.status = status;
          let headers = { ...up.headers };
          if (rewrite?.cutAfter !== undefined || rewrite?.stallAfter !== undefined) {
            const limit = (rewrite.cutAfter ?? rewrite.stallAfter)!;
            res.writeHead(status, headers);
            let sent = 0;
            up.on('data', (c: Buffer) => {
              const room = limit - sent;
              if (room > 0) {
                res.write(c.subarray(0, room));
                entry.responseBytes += Math.min(room, c.length);
              }
              sent += c.length;
              if (sent >= limit) {
                up.destroy();
                if (rewrite.cutAfter !== undefined) res.socket?.destroy();
              }
            });
            return;
          }
          if (rewrite?.pauseAfter) {
            const { bytes, until } = rewrite.pauseAfter;
            res.writeHead(status, headers);
            let sent = 0;
            let state: 'before' | 'paused' | 'released' = 'before';
            const held: Buffer[] = [];
            up.on('data', (c: Buffer) => {
              entry.responseBytes += c.length;
              if (state === 'released') return void res.write(c);
              if (state === 'paused') return void held.push(c);
              const room = bytes - sent;
              sent += c.length;
              if (room >= c.length) return void res.write(c);
              res.write(c.subarray(0, room));
              held.push(c.subarray(room));
              state = 'paused';
              void until.then(() => {
                for (const h of held.splice(0)) res.write(h);
                state = 'released';
                if (up.readableEnded) res.end();
              });
            });
            up.on('end', () => {
              if (state !== 'paused') res.end();
            });
            return;
          }
          if (!rewrite?.body) {
            if (rewrite?.headers) headers = rewrite.headers(headers);
            res.writeHead(status, headers);
            up.on('data', (c: Buffer) => (entry.responseBytes += c.length));
            up.pipe(res);
            return;
          }
          const chunks: Buffer[] = [];
          up.on('data', (c: Buffer) => chunks.push(c));
          up.on('end', () => {
            const body = rewrite.body!(Buffer.concat(chunks));
            headers['content-length'] = String(body.length);
            if (rewrite.headers) headers = rewrite.headers(headers);
            res.writeHead(status, headers);
            entry.responseBytes += body.length;
            res.end(body);
          });
        },
      );
      upstream.on('error', (e) => {
        entry.status = 502;
        res.writeHead(502);
        res.end(String(e));
      });
      req.pipe(upstream);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, bindHost, resolve));
  const { port } = server.address() as AddressInfo;
  proxy.host = `${bindHost}:${port}`;
  proxy.url = `http://${proxy.host}`;
  proxy.stop = () =>
    new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return proxy;
}

/** Bytes uploaded through the proxy: blob bodies (PUT/PATCH to uploads) and manifest bodies. */
export function uploadedBytes(log: ProxyLogEntry[]): {
  blobs: number;
  manifests: number;
  blobPuts: number;
  manifestPuts: number;
} {
  let blobs = 0;
  let manifests = 0;
  let blobPuts = 0;
  let manifestPuts = 0;
  for (const e of log) {
    if (
      (e.method === 'PUT' || e.method === 'PATCH' || e.method === 'POST') &&
      e.path.includes('/blobs/uploads/')
    ) {
      blobs += e.requestBytes;
      if (e.requestBytes > 0) blobPuts++;
    } else if (e.method === 'PUT' && e.path.includes('/manifests/')) {
      manifests += e.requestBytes;
      manifestPuts++;
    }
  }
  return { blobs, manifests, blobPuts, manifestPuts };
}

/** Body bytes the proxy passed on for requests whose path is `path` (every attempt added up). */
export function downloadedBytes(log: ProxyLogEntry[], path: string): number {
  return log.filter((e) => e.path === path).reduce((n, e) => n + e.responseBytes, 0);
}
