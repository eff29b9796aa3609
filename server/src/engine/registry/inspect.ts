// Reading an image's manifest and config without pulling it (for `strata inspect REF`), verified like
// a pull: the config is fetched into memory (at most 16 MiB) and checked against its digest.
import { parseDigest, digestOf } from '../digest';
import { StrataError } from '../errors';
import { parseImageRef, formatImageRef } from '../image/ref';
import type { Descriptor, ImageConfig, Manifest, Platform } from '../image/types';
import { RegistryClient, registryError } from './client';
import { formatPlatform, hostPlatform } from './platform';
import { resolveManifest } from './pull';
import { readBody } from './transport';

const CONFIG_LIMIT = 16 << 20;

export interface ImageDescription {
  name: string;
  /** "store" or the endpoint URL it was read from. */
  source: string;
  digest: string;
  mediaType: string;
  indexDigest?: string;
  manifest: Manifest;
  config: ImageConfig;
  configDigest: string;
  layers: { digest: string; size: number; mediaType: string; diffId?: string }[];
  platform: string;
  /** Compressed size of config and layers. */
  size: number;
}

export function describe(
  name: string,
  source: string,
  digest: string,
  mediaType: string,
  manifest: Manifest,
  config: ImageConfig,
  indexDigest?: string,
): ImageDescription {
  const ids = config.rootfs?.diff_ids ?? [];
  return {
    name,
    source,
    digest,
    mediaType,
    ...(indexDigest ? { indexDigest } : {}),
    manifest,
    config,
    configDigest: manifest.config.digest,
    layers: manifest.layers.map((l: Descriptor, i) => ({
      digest: l.digest,
      size: l.size,
      mediaType: l.mediaType,
      ...(ids[i] ? { diffId: ids[i] } : {}),
    })),
    platform: formatPlatform({
      os: config.os,
      architecture: config.architecture,
      ...(config.variant ? { variant: config.variant } : {}),
    }),
    size: manifest.config.size + manifest.layers.reduce((n, l) => n + l.size, 0),
  };
}

export async function inspectRemote(
  refText: string,
  options: { client?: RegistryClient; platform?: Platform; signal?: AbortSignal } = {},
): Promise<ImageDescription> {
  const ref = parseImageRef(refText);
  const canonical = formatImageRef(ref);
  const client = options.client ?? new RegistryClient({ signal: options.signal });
  const { repo, fetched, indexDigest } = await resolveManifest(
    client,
    ref,
    options.platform ?? hostPlatform(),
  );
  const manifest = fetched.manifest;
  const configDigest = parseDigest(manifest.config.digest, `manifest ${fetched.digest} of ${canonical}`);
  if (manifest.config.size > CONFIG_LIMIT) {
    throw new StrataError(
      'REGISTRY',
      `${canonical} has a config of ${manifest.config.size} bytes; the limit is 16 MiB`,
      'the image is malformed or hostile',
    );
  }
  const res = await repo.request({ method: 'GET', path: `blobs/${configDigest}` });
  if (res.status !== 200)
    throw await registryError(res, `config ${configDigest} of ${canonical}`, repo.where);
  const bytes = await readBody(res, CONFIG_LIMIT);
  const got = digestOf(bytes);
  if (!got.equals(configDigest) || bytes.length !== manifest.config.size) {
    throw new StrataError(
      'DIGEST',
      `config of ${canonical} from ${repo.where} does not match its descriptor: expected ${configDigest} (${manifest.config.size} bytes), got ${got} (${bytes.length} bytes)`,
      'the registry (or something between it and you) sent other content',
    );
  }
  let config: ImageConfig;
  try {
    config = JSON.parse(bytes.toString('utf8')) as ImageConfig;
  } catch (e) {
    throw new StrataError(
      'REGISTRY',
      `config ${configDigest} of ${canonical} is not valid JSON`,
      'the image is malformed',
      { cause: e },
    );
  }
  return describe(
    canonical,
    repo.endpoint.base,
    fetched.digest.toString(),
    fetched.mediaType,
    manifest,
    config,
    indexDigest?.toString(),
  );
}
