// `strata import FILE`: an oci-archive or docker-archive into the store, verified, named, unpacked.
// OCI archives keep their manifests as they are (an index is resolved to this machine's platform);
// docker archives get an OCI manifest over the same config and layer bytes, so the diff_ids and
// the config digest stay those of the original image.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseDigest } from '../digest';
import { StrataError } from '../errors';
import { hostPlatform, selectPlatform } from '../registry/platform';
import { ensureImageTrees } from '../store/layer-trees';
import type { Store } from '../store/store';
import { readArchive, ArchiveContents } from './archive-read';
import { makeManifest } from './builder';
import { MediaType, isIndexMediaType } from './media-types';
import { formatImageRef, parseImageRef } from './ref';
import { Descriptor, ImageConfig, ImageIndex, REF_NAME_ANNOTATION } from './types';
import { validateImage } from './validate';

export interface ImportOptions {
  /** Name to give the image (required when the archive names none; wins over the archive's). */
  name?: string;
  unpack?: boolean;
  signal?: AbortSignal;
  /** Bytes of the archive read so far, of its size. */
  onProgress?: (read: number, total: number) => void;
}

export interface ImportedImage {
  name: string;
  digest: string;
  format: 'oci-archive' | 'docker-archive';
}

function parseJson<T>(bytes: Buffer | undefined, what: string): T {
  if (!bytes)
    throw new StrataError('REF', `${what} is missing`, 'this is not an oci-archive or docker-archive');
  try {
    return JSON.parse(bytes.toString('utf8')) as T;
  } catch (e) {
    throw new StrataError('REF', `${what} is not valid JSON`, 'the archive is damaged', { cause: e });
  }
}

async function ociImages(
  store: Store,
  file: string,
  c: ArchiveContents,
  options: ImportOptions,
): Promise<{ name: string; descriptor: Descriptor }[]> {
  const index = parseJson<ImageIndex>(c.json.get('index.json'), `${file}: index.json`);
  const out: { name: string; descriptor: Descriptor }[] = [];
  for (const d of index.manifests ?? []) {
    let descriptor = d;
    if (isIndexMediaType(d.mediaType)) {
      const nested = await store.readJson<ImageIndex>(
        parseDigest(d.digest, `${file}: index.json`),
        `${file}: nested index`,
      );
      descriptor = selectPlatform(nested, hostPlatform(), `${file}`);
    }
    const name = options.name ?? d.annotations?.[REF_NAME_ANNOTATION];
    if (!name) {
      throw new StrataError(
        'REF',
        `${file}: the image has no name (org.opencontainers.image.ref.name)`,
        'give one: strata import FILE --name NAME',
      );
    }
    out.push({
      name,
      descriptor: { mediaType: descriptor.mediaType, digest: descriptor.digest, size: descriptor.size },
    });
    if (options.name) break; // one name: the first image
  }
  return out;
}

interface DockerManifestEntry {
  Config: string;
  RepoTags?: string[] | null;
  Layers: string[];
}

function resolveLink(c: ArchiveContents, p: string): string {
  for (let i = 0; i < 8 && c.links.has(p); i++)
    p = path.posix.normalize(path.posix.join(path.posix.dirname(p), c.links.get(p)!));
  return p;
}

async function dockerImages(
  store: Store,
  file: string,
  c: ArchiveContents,
  options: ImportOptions,
): Promise<{ name: string; descriptor: Descriptor }[]> {
  const entries = parseJson<DockerManifestEntry[]>(c.json.get('manifest.json'), `${file}: manifest.json`);
  const out: { name: string; descriptor: Descriptor }[] = [];
  for (const e of entries) {
    const cfg = c.files.get(resolveLink(c, e.Config));
    if (!cfg)
      throw new StrataError('REF', `${file}: config ${e.Config} is missing`, 'the archive is incomplete');
    const config = await store.readJson<ImageConfig>(cfg.digest, `${file}: ${e.Config}`);
    const diffIds = config.rootfs?.diff_ids ?? [];
    if (diffIds.length !== e.Layers.length) {
      throw new StrataError(
        'REF',
        `${file}: ${e.Layers.length} layers but ${diffIds.length} diff_ids in ${e.Config}`,
        'the archive is damaged',
      );
    }
    const layers: Descriptor[] = [];
    for (const [i, lp] of e.Layers.entries()) {
      const f = c.files.get(resolveLink(c, lp));
      if (!f) throw new StrataError('REF', `${file}: layer ${lp} is missing`, 'the archive is incomplete');
      const head = Buffer.alloc(2);
      const fd = fs.openSync(store.blobPath(f.digest), 'r');
      fs.readSync(fd, head, 0, 2, 0);
      fs.closeSync(fd);
      const gz = head[0] === 0x1f && head[1] === 0x8b;
      if (!gz && f.digest.toString() !== diffIds[i]) {
        throw new StrataError(
          'DIGEST',
          `${file}: layer ${lp} is ${f.digest}, but its config says ${diffIds[i]}`,
          'the archive is damaged or tampered with',
        );
      }
      layers.push({
        mediaType: gz ? MediaType.OciLayerGzip : MediaType.OciLayer,
        digest: f.digest.toString(),
        size: f.size,
      });
    }
    const configDescriptor = {
      mediaType: MediaType.OciConfig,
      digest: cfg.digest.toString(),
      size: cfg.size,
    };
    const manifest = await store.putJson(makeManifest(configDescriptor, layers), MediaType.OciManifest);
    const tag = options.name ?? e.RepoTags?.[0];
    if (!tag)
      throw new StrataError(
        'REF',
        `${file}: the image has no RepoTags`,
        'give it a name: strata import FILE --name NAME',
      );
    out.push({ name: options.name ?? formatImageRef(parseImageRef(tag)), descriptor: manifest });
    if (options.name) break;
  }
  return out;
}

export async function importArchive(
  store: Store,
  file: string,
  options: ImportOptions = {},
): Promise<ImportedImage[]> {
  return store.withShared(async () => {
    const contents = await readArchive(store, file, options.signal, options.onProgress);
    const format =
      contents.json.has('index.json') && contents.json.has('oci-layout')
        ? 'oci-archive'
        : contents.json.has('manifest.json')
          ? 'docker-archive'
          : undefined;
    if (!format) {
      throw new StrataError(
        'REF',
        `${file} is neither an oci-archive (oci-layout, index.json) nor a docker-archive (manifest.json)`,
        'make one with skopeo copy, podman save or docker save',
      );
    }
    const images =
      format === 'oci-archive'
        ? await ociImages(store, file, contents, options)
        : await dockerImages(store, file, contents, options);
    if (images.length === 0) throw new StrataError('REF', `${file} holds no image`);
    const out: ImportedImage[] = [];
    for (const { name, descriptor } of images) {
      const problems = await validateImage(store, descriptor);
      if (problems.length)
        throw new StrataError(
          'REF',
          `${file}: image ${name} is incomplete: ${problems[0]}`,
          'the archive is damaged; nothing was named',
        );
      if (options.unpack !== false) {
        const img = await store.readImage(name, descriptor);
        await ensureImageTrees(store, img.layers, { where: `${name} from ${file}`, signal: options.signal });
      }
      await store.tagImage(name, descriptor);
      out.push({ name, digest: descriptor.digest, format });
    }
    return out;
  });
}
