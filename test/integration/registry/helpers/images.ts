// Real OCI images made in-process for push tests: each layer a gzipped tar of the given files,
// a config with their diff_ids, a manifest, named in the store. Deterministic for equal input.
import * as zlib from 'node:zlib';
import * as tar from 'tar-stream';
import { digestOf } from '../../../../server/src/engine/digest';
import { MediaType } from '../../../../server/src/engine/image/media-types';
import type { Descriptor, ImageConfig, Manifest } from '../../../../server/src/engine/image/types';
import type { Store } from '../../../../server/src/engine/store/store';

export type Files = Record<string, string | Buffer>;

export async function tarOf(files: Files): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (c: unknown) => chunks.push(c as Buffer));
  const done = new Promise<void>((resolve, reject) => {
    pack.on('end', resolve);
    pack.on('error', reject);
  });
  for (const name of Object.keys(files).sort()) {
    const body = Buffer.from(files[name]!);
    pack.entry({ name, size: body.length, mode: 0o644, mtime: new Date(0), uid: 0, gid: 0 }, body);
  }
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

export interface MadeImage {
  name: string;
  manifest: Descriptor;
  config: Descriptor;
  layers: Descriptor[];
}

/** Makes an image of `layers` (one Files per layer) and names it `name` in `store`. */
export async function makeImage(
  store: Store,
  name: string,
  layers: Files[],
  platform = { os: 'linux', architecture: 'amd64' },
  /** Replaces the config's diff_ids (to make an image that lies about its layers). */
  diffIdsOverride?: string[],
): Promise<MadeImage> {
  const layerDescriptors: Descriptor[] = [];
  const diffIds: string[] = [];
  for (const files of layers) {
    const raw = await tarOf(files);
    diffIds.push(digestOf(raw).toString());
    const gz = zlib.gzipSync(raw, { level: 6 });
    layerDescriptors.push(await store.putBytes(gz, MediaType.OciLayerGzip));
  }
  const config: ImageConfig = {
    created: '2026-01-01T00:00:00Z',
    ...platform,
    config: { Cmd: ['/bin/sh'] },
    rootfs: { type: 'layers', diff_ids: diffIdsOverride ?? diffIds },
  };
  const configDescriptor = await store.putJson(config, MediaType.OciConfig);
  const manifest: Manifest = {
    schemaVersion: 2,
    mediaType: MediaType.OciManifest,
    config: configDescriptor,
    layers: layerDescriptors,
  };
  const manifestDescriptor = await store.putJson(manifest, MediaType.OciManifest);
  await store.tagImage(name, manifestDescriptor);
  return { name, manifest: manifestDescriptor, config: configDescriptor, layers: layerDescriptors };
}

/** Random, incompressible file content of `n` bytes (so layer sizes are what they seem). */
export function noise(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  let x = seed * 2654435761 + 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}
