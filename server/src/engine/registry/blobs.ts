// Downloading one blob straight into the store: streamed, hashed and size-checked while it arrives
// (Store.ingestBlob), so a wrong byte, a short or a long body stores nothing. A body cut off by the
// network is fetched again (a few times, with backoff); a wrong digest is not retried.
import { Digest } from '../digest';
import { StrataError } from '../errors';
import type { Descriptor } from '../image/types';
import type { Store } from '../store/store';
import { registryError, type RepositoryClient } from './client';

export interface BlobFetchOptions {
  /** Names the image and the blob's role in messages: "docker.io/library/debian:bookworm layer 1/1". */
  where: string;
  onProgress?: (bytes: number) => void;
  signal?: AbortSignal;
  attempts?: number;
}

/**
 * Coalesces socket-sized chunks (~64 KiB) into 1 MiB blocks: the store awaits one write per block,
 * and 50 writes cost less than 800 (measured: about a third less time for a 50 MB layer).
 */
async function* inBlocks(source: AsyncIterable<Buffer>, size = 1 << 20): AsyncGenerator<Buffer> {
  let parts: Buffer[] = [];
  let length = 0;
  for await (const chunk of source) {
    parts.push(chunk);
    length += chunk.length;
    if (length >= size) {
      yield parts.length === 1 ? parts[0]! : Buffer.concat(parts, length);
      parts = [];
      length = 0;
    }
  }
  if (length > 0) yield Buffer.concat(parts, length);
}

export async function fetchBlobToStore(
  store: Store,
  repo: RepositoryClient,
  descriptor: Descriptor,
  options: BlobFetchOptions,
): Promise<{ written: boolean }> {
  const digest = Digest.parse(descriptor.digest, options.where);
  const attempts = options.attempts ?? 3;
  for (let attempt = 1; ; attempt++) {
    const res = await repo.request({ method: 'GET', path: `blobs/${digest}` });
    if (res.status !== 200) throw await registryError(res, `blob ${digest} (${options.where})`, repo.where);
    const length = res.headers['content-length'];
    if (length !== undefined && Number(length) !== descriptor.size) {
      res.body.destroy();
      throw new StrataError(
        'DIGEST',
        `${repo.where} sent ${length} bytes for blob ${digest} (${options.where}), but the manifest says ${descriptor.size}`,
        'the registry (or something between it and you) serves other content; nothing was stored',
      );
    }
    try {
      const r = await store.ingestBlob(inBlocks(res.body), {
        expected: digest,
        size: descriptor.size,
        where: `${options.where}, from ${repo.where}`,
        onProgress: options.onProgress,
        signal: options.signal,
      });
      return { written: r.written };
    } catch (e) {
      res.body.destroy();
      if (options.signal?.aborted) {
        throw options.signal.reason instanceof Error
          ? options.signal.reason
          : new StrataError('CANCELLED', 'cancelled');
      }
      // StrataErrors (digest, size) are final; a stream error is the network: try again.
      if (e instanceof StrataError || attempt >= attempts) {
        if (e instanceof StrataError) throw e;
        throw new StrataError(
          'REGISTRY',
          `download of blob ${digest} (${options.where}) from ${repo.where} failed: ${(e as Error).message}`,
          'check the network and try again',
          { cause: e },
        );
      }
      await new Promise((r) => setTimeout(r, 250 * 2 ** (attempt - 1)));
    }
  }
}
