// validateImage: the oracle the tests use on every image the store holds (go-containerregistry's
// validate.Image): every blob present with its size and digest, the manifest and config well
// formed, as many diff_ids as layers, and (deep) each layer's uncompressed digest equal to its
// diff_id. Returns the list of problems; empty means valid.
import { Digester, isDigest, parseDigest } from '../digest';
import { hashStoredBlob } from '../store/blobs';
import type { Store } from '../store/store';
import { decompressLayer } from '../layer/decompress';
import { DEFAULT_LIMITS } from '../layer/limits';
import { isConfigMediaType, isManifestMediaType, layerCompression } from './media-types';
import type { Descriptor, ImageConfig, Manifest } from './types';

async function checkBlob(store: Store, d: Descriptor, what: string, problems: string[]): Promise<boolean> {
  if (!isDigest(d.digest)) {
    problems.push(`${what}: invalid digest ${JSON.stringify(d.digest)}`);
    return false;
  }
  const digest = parseDigest(d.digest);
  if (!store.hasBlob(digest)) {
    problems.push(`${what}: blob ${d.digest} missing`);
    return false;
  }
  const got = await hashStoredBlob(store.blobPath(digest));
  if (got.digest.hex !== digest.hex) problems.push(`${what}: blob ${d.digest} hashes to ${got.digest}`);
  if (got.size !== d.size)
    problems.push(`${what}: ${d.digest} is ${got.size} bytes, descriptor says ${d.size}`);
  return true;
}

export async function validateImage(
  store: Store,
  manifestDescriptor: Descriptor,
  options: { deep?: boolean } = {},
): Promise<string[]> {
  const problems: string[] = [];
  if (!(await checkBlob(store, manifestDescriptor, 'manifest', problems))) return problems;
  const manifest = JSON.parse(
    (await store.readBlob(parseDigest(manifestDescriptor.digest))).toString('utf8'),
  ) as Manifest;
  if (manifest.schemaVersion !== 2) problems.push('manifest: schemaVersion is not 2');
  if (manifest.mediaType && !isManifestMediaType(manifest.mediaType))
    problems.push(`manifest: media type ${manifest.mediaType}`);
  if (!isConfigMediaType(manifest.config?.mediaType))
    problems.push(`config: media type ${manifest.config?.mediaType}`);
  if (!(await checkBlob(store, manifest.config, 'config', problems))) return problems;
  const config = JSON.parse(
    (await store.readBlob(parseDigest(manifest.config.digest))).toString('utf8'),
  ) as ImageConfig;
  if (!config.architecture || !config.os) problems.push('config: architecture or os missing');
  if (config.rootfs?.type !== 'layers') problems.push('config: rootfs.type is not "layers"');
  const diffIds = config.rootfs?.diff_ids ?? [];
  if (diffIds.length !== manifest.layers.length)
    problems.push(`config: ${diffIds.length} diff_ids for ${manifest.layers.length} layers`);
  for (const [i, layer] of manifest.layers.entries()) {
    const what = `layer ${i}`;
    const compression = layerCompression(layer.mediaType);
    if (!compression) problems.push(`${what}: media type ${layer.mediaType} is not a layer`);
    if (!(await checkBlob(store, layer, what, problems)) || !options.deep || !compression) continue;
    const tapped = { compressed: new Digester(), uncompressed: new Digester() };
    for await (const chunk of decompressLayer(
      store.openBlob(parseDigest(layer.digest)),
      compression,
      layer.digest,
      DEFAULT_LIMITS,
      tapped,
    ))
      void chunk;
    const diff = tapped.uncompressed.digest().toString();
    if (diff !== diffIds[i]) problems.push(`${what}: uncompressed digest ${diff}, config says ${diffIds[i]}`);
  }
  return problems;
}
