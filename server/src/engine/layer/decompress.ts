// Decompression with limits: the compressed and uncompressed bytes are hashed on the way (digest
// and diff_id), counted, and a layer that expands too far (a gzip bomb) is stopped early.
import { pipeline, Readable } from 'node:stream';
import * as zlib from 'node:zlib';
import { Digester } from '../digest';
import { StrataError } from '../errors';
import type { LayerCompression } from '../image/media-types';
import type { LayerLimits } from './limits';

export interface Tapped {
  compressed: Digester;
  uncompressed: Digester;
}

async function* tap(
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  digester: Digester,
): AsyncGenerator<Buffer> {
  for await (const chunk of source) {
    digester.update(chunk);
    yield Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  }
}

/** Yields the uncompressed bytes of a layer blob, hashing both sides. */
export async function* decompressLayer(
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  compression: LayerCompression,
  where: string,
  limits: LayerLimits,
  tapped: Tapped,
): AsyncGenerator<Buffer> {
  const input = tap(source, tapped.compressed);
  let output: AsyncIterable<Buffer>;
  if (compression === 'none') {
    output = input;
  } else if (compression === 'gzip') {
    // pipeline() destroys both sides on an error or an early stop, so nothing is left reading.
    output = pipeline(
      Readable.from(input, { objectMode: false }),
      zlib.createGunzip({ chunkSize: 256 * 1024 }),
      () => {},
    );
  } else {
    throw new StrataError(
      'LAYER',
      `layer ${where} is compressed with zstd, which this Node.js (${process.version}) cannot read`,
      'zstd layers are not supported yet; use an image whose layers are gzip-compressed',
    );
  }
  const u = tapped.uncompressed;
  try {
    for await (const chunk of output) {
      u.update(chunk);
      if (u.size > limits.maxUncompressedBytes) {
        throw new StrataError(
          'LAYER',
          `layer ${where} expands beyond ${limits.maxUncompressedBytes} bytes`,
          'raise STRATA_MAX_LAYER_BYTES if the layer is genuine',
        );
      }
      if (u.size > limits.ratioFloorBytes && u.size > tapped.compressed.size * limits.maxRatio) {
        throw new StrataError(
          'LAYER',
          `layer ${where} expands more than ${limits.maxRatio}:1 (${u.size} bytes from ${tapped.compressed.size}): a gzip bomb`,
          'the layer is hostile or broken; nothing was unpacked',
        );
      }
      yield chunk;
    }
  } catch (e) {
    if (e instanceof StrataError) throw e;
    throw new StrataError(
      'LAYER',
      `layer ${where} cannot be decompressed: ${(e as Error).message}`,
      'the blob is corrupt or not gzip',
      {
        cause: e,
      },
    );
  }
}
