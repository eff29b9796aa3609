// Fetching a manifest or an index, verified before anything trusts it:
// - at most 4 MiB (the distribution spec's recommended limit; containerd uses the same),
// - its sha256 equals the digest we asked for (by digest) or that the index named,
// - its sha256 equals the registry's Docker-Content-Digest header when one is sent,
// - its size equals the descriptor's size when a descriptor named it,
// - it parses as an OCI or Docker schema 2 manifest or index, with well-formed descriptors.
import { Digest, digestOf, parseDigest } from '../digest';
import { StrataError } from '../errors';
import { MediaType, isIndexMediaType, isManifestMediaType } from '../image/media-types';
import type { Descriptor, ImageIndex, Manifest } from '../image/types';
import { registryError, type RepositoryClient } from './client';
import { readBody } from './transport';

export const MANIFEST_LIMIT = 4 << 20;

export const MANIFEST_ACCEPT = [
  MediaType.OciIndex,
  MediaType.DockerManifestList,
  MediaType.OciManifest,
  MediaType.DockerManifest,
].join(', ');

export type FetchedManifest =
  | { kind: 'manifest'; digest: Digest; mediaType: string; bytes: Buffer; manifest: Manifest }
  | { kind: 'index'; digest: Digest; mediaType: string; bytes: Buffer; index: ImageIndex };

/**
 * GETs manifests/<reference> (a tag or a digest). `expected` is the descriptor that named it (from
 * an index) or the digest of the ref; `refText` names the image in messages.
 */
export async function fetchManifest(
  repo: RepositoryClient,
  reference: string,
  refText: string,
  expected?: { digest: Digest; size?: number },
): Promise<FetchedManifest> {
  const res = await repo.request({
    method: 'GET',
    path: `manifests/${reference}`,
    headers: { Accept: MANIFEST_ACCEPT },
  });
  if (res.status !== 200) throw await registryError(res, `manifest ${refText}`, repo.where);
  const length = Number(res.headers['content-length']);
  if (Number.isFinite(length) && length > MANIFEST_LIMIT) {
    res.body.destroy();
    throw new StrataError(
      'REGISTRY',
      `${repo.where} sent a manifest of ${length} bytes for ${refText}; the limit is 4 MiB`,
      'the registry or a proxy in front of it misbehaves',
    );
  }
  const bytes = await readBody(res, MANIFEST_LIMIT).catch((e: unknown) => {
    if (e instanceof StrataError)
      throw new StrataError(
        'REGISTRY',
        `${repo.where} sent a manifest larger than 4 MiB for ${refText}`,
        'the registry or a proxy in front of it misbehaves',
      );
    throw e;
  });
  const got = digestOf(bytes);
  if (expected && !got.equals(expected.digest)) {
    throw new StrataError(
      'DIGEST',
      `manifest of ${refText} from ${repo.where} does not match its digest: expected ${expected.digest}, got ${got}`,
      'the registry (or something between it and you) sent other content; nothing was stored',
    );
  }
  if (expected?.size !== undefined && bytes.length !== expected.size) {
    throw new StrataError(
      'DIGEST',
      `manifest ${expected.digest} of ${refText} from ${repo.where} has ${bytes.length} bytes, but its descriptor says ${expected.size}`,
      'the index and the manifest disagree; nothing was stored',
    );
  }
  const header = res.headers['docker-content-digest'];
  if (typeof header === 'string' && header !== '') {
    const claimed = parseDigest(header, `the Docker-Content-Digest header from ${repo.where}`);
    if (!claimed.equals(got)) {
      throw new StrataError(
        'DIGEST',
        `manifest of ${refText} from ${repo.where} does not match the registry's Docker-Content-Digest: header says ${claimed}, content is ${got}`,
        'the registry (or something between it and you) altered the manifest; nothing was stored',
      );
    }
  }
  const contentType = String(res.headers['content-type'] ?? '')
    .split(';')[0]!
    .trim();
  return parseManifestBytes(bytes, got, contentType, `manifest ${got} of ${refText}`);
}

function isDescriptor(d: unknown): d is Descriptor {
  if (typeof d !== 'object' || d === null) return false;
  const x = d as Record<string, unknown>;
  return (
    typeof x.mediaType === 'string' &&
    typeof x.digest === 'string' &&
    Number.isSafeInteger(x.size) &&
    (x.size as number) >= 0
  );
}

function checkDescriptor(d: unknown, where: string): Descriptor {
  if (!isDescriptor(d)) {
    throw new StrataError(
      'REGISTRY',
      `${where} is not a descriptor (mediaType, digest, size)`,
      'the image is malformed',
    );
  }
  parseDigest(d.digest, where);
  return d;
}

/** Parses and checks manifest or index bytes; `contentType` is used when the JSON has no mediaType. */
export function parseManifestBytes(
  bytes: Buffer,
  digest: Digest,
  contentType: string,
  where: string,
): FetchedManifest {
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(bytes.toString('utf8')) as Record<string, unknown>;
    if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new Error('not an object');
  } catch (e) {
    throw new StrataError(
      'REGISTRY',
      `${where} is not valid JSON: ${(e as Error).message}`,
      'the image is malformed',
      { cause: e },
    );
  }
  if (json.schemaVersion === 1) {
    throw new StrataError(
      'REGISTRY',
      `${where} is a Docker schema 1 manifest, which is not supported`,
      'push the image again with a current tool (it then gets a schema 2 or OCI manifest)',
    );
  }
  if (json.schemaVersion !== 2)
    throw new StrataError(
      'REGISTRY',
      `${where} has schemaVersion ${String(json.schemaVersion)}, expected 2`,
      'the image is malformed',
    );
  const declared = typeof json.mediaType === 'string' ? json.mediaType : undefined;
  if (
    declared &&
    contentType &&
    contentType !== declared &&
    contentType !== 'application/json' &&
    (isIndexMediaType(contentType) || isManifestMediaType(contentType))
  ) {
    throw new StrataError(
      'REGISTRY',
      `${where} says it is ${declared} but was served as ${contentType}`,
      'the registry misbehaves',
    );
  }
  const mediaType =
    declared ?? (contentType || (Array.isArray(json.manifests) ? MediaType.OciIndex : MediaType.OciManifest));
  if (isIndexMediaType(mediaType) || (!declared && Array.isArray(json.manifests) && !json.config)) {
    if (!Array.isArray(json.manifests))
      throw new StrataError(
        'REGISTRY',
        `${where} is an index without a manifests list`,
        'the image is malformed',
      );
    json.manifests.forEach((m, i) => checkDescriptor(m, `${where} manifests[${i}]`));
    return { kind: 'index', digest, mediaType, bytes, index: json as unknown as ImageIndex };
  }
  if (!isManifestMediaType(mediaType)) {
    throw new StrataError(
      'REGISTRY',
      `${where} has media type ${mediaType}, which is not an image manifest or index`,
      'only OCI and Docker schema 2 images are supported',
    );
  }
  checkDescriptor(json.config, `${where} config`);
  if (!Array.isArray(json.layers))
    throw new StrataError('REGISTRY', `${where} has no layers list`, 'the image is malformed');
  json.layers.forEach((l, i) => checkDescriptor(l, `${where} layers[${i}]`));
  return { kind: 'manifest', digest, mediaType, bytes, manifest: json as unknown as Manifest };
}
