// `strata export IMAGE FILE --format oci|docker`: one image as an archive other tools load.
// oci: an OCI image layout in a tar (skopeo copy oci-archive:FILE, podman load), the image named
// by org.opencontainers.image.ref.name. docker: the docker-archive layout (`docker load`,
// `podman load`): manifest.json, the config as <hex>.json and each layer uncompressed as
// <diff_id hex>/layer.tar, so its digest is the diff_id the config lists. The tar is written
// deterministically (fixed order, times 0, owner 0:0) to FILE.tmp-PID and renamed when complete.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { pipeline } from 'node:stream/promises';
import { StrataError } from '../errors';
import type { LayerEntry } from '../layer/entry';
import { END_OF_ARCHIVE, encodeHeader, padding } from '../layer/tar-header';
import { tempName } from '../store/fsutil';
import type { ResolvedImage, Store } from '../store/store';
import { parseDigest } from '../digest';
import { layerCompression, MediaType } from './media-types';
import { formatImageRef, parseImageRef } from './ref';
import { REF_NAME_ANNOTATION } from './types';

export type ExportFormat = 'oci' | 'docker';

interface Member {
  path: string;
  /** A file's bytes, or the path of a file to stream. */
  bytes?: Buffer;
  file?: string;
  size: number;
  dir?: boolean;
}

function entryOf(m: Member): LayerEntry {
  return m.dir
    ? { type: 'dir', path: m.path, mode: 0o755, uid: 0, gid: 0, mtime: 0 }
    : { type: 'file', path: m.path, mode: 0o644, uid: 0, gid: 0, mtime: 0, size: m.size };
}

async function* tarOf(members: Member[]): AsyncGenerator<Buffer> {
  for (const m of members) {
    yield encodeHeader(entryOf(m));
    if (m.dir) continue;
    if (m.bytes) yield m.bytes;
    else {
      let n = 0;
      for await (const c of fs.createReadStream(m.file!, { highWaterMark: 1 << 20 })) {
        n += (c as Buffer).length;
        yield c as Buffer;
      }
      if (n !== m.size) throw new StrataError('STORE', `${m.file} changed while it was exported`);
    }
    const pad = padding(m.size);
    if (pad) yield Buffer.alloc(pad);
  }
  yield END_OF_ARCHIVE;
}

function blobMember(store: Store, digest: string, size: number): Member {
  return { path: `blobs/sha256/${parseDigest(digest).hex}`, file: store.blobPath(parseDigest(digest)), size };
}

function ociMembers(store: Store, img: ResolvedImage, refName: string): Member[] {
  const index = {
    schemaVersion: 2,
    mediaType: MediaType.OciIndex,
    manifests: [
      {
        mediaType: img.descriptor.mediaType,
        digest: img.digest.toString(),
        size: img.descriptor.size,
        annotations: { [REF_NAME_ANNOTATION]: refName },
      },
    ],
  };
  const layout = Buffer.from(JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  const indexBytes = Buffer.from(JSON.stringify(index));
  const blobs = [
    blobMember(store, img.digest.toString(), img.descriptor.size),
    blobMember(store, img.manifest.config.digest, img.manifest.config.size),
    ...img.manifest.layers.map((l) => blobMember(store, l.digest, l.size)),
  ];
  const unique = [...new Map(blobs.map((b) => [b.path, b])).values()].sort((a, b) =>
    a.path < b.path ? -1 : 1,
  );
  return [
    { path: 'blobs', size: 0, dir: true },
    { path: 'blobs/sha256', size: 0, dir: true },
    ...unique,
    { path: 'index.json', bytes: indexBytes, size: indexBytes.length },
    { path: 'oci-layout', bytes: layout, size: layout.length },
  ];
}

/** Docker archives carry uncompressed layers: gunzip each into the store's tmp/ first (size known). */
async function dockerMembers(
  store: Store,
  img: ResolvedImage,
  tag: string,
  temps: string[],
): Promise<Member[]> {
  const configHex = img.configDigest.hex;
  const members: Member[] = [
    blobMemberAt(store, img.configDigest.toString(), img.manifest.config.size, `${configHex}.json`),
  ];
  const layerPaths: string[] = [];
  for (const layer of img.layers) {
    const dir = layer.diffId.hex;
    const p = `${dir}/layer.tar`;
    layerPaths.push(p);
    if (members.some((m) => m.path === p)) continue;
    const compression = layerCompression(layer.descriptor.mediaType);
    let file = store.blobPath(parseDigest(layer.descriptor.digest));
    if (compression === 'gzip') {
      const tmp = path.join(store.paths.tmp, tempName('export') + '.tar');
      temps.push(tmp);
      await pipeline(
        fs.createReadStream(file, { highWaterMark: 1 << 20 }),
        zlib.createGunzip(),
        fs.createWriteStream(tmp),
      );
      file = tmp;
    } else if (compression !== 'none') {
      throw new StrataError(
        'STORE',
        `layer ${layer.descriptor.digest} is ${layer.descriptor.mediaType}; docker archives need gzip or plain layers`,
      );
    }
    members.push({ path: dir, size: 0, dir: true }, { path: p, file, size: fs.statSync(file).size });
  }
  const manifest = Buffer.from(
    JSON.stringify([{ Config: `${configHex}.json`, RepoTags: [tag], Layers: layerPaths }]),
  );
  members.push({ path: 'manifest.json', bytes: manifest, size: manifest.length });
  return members;
}

function blobMemberAt(store: Store, digest: string, size: number, at: string): Member {
  return { ...blobMember(store, digest, size), path: at };
}

/** A docker tag for a store name: `strata/demo` → `strata/demo:latest`; full refs as they are. */
function dockerTag(name: string): string {
  try {
    const ref = parseImageRef(name);
    return formatImageRef(ref.tag || ref.digest ? ref : { ...ref, tag: 'latest' });
  } catch {
    return name.includes(':') ? name : `${name}:latest`;
  }
}

export async function exportImage(
  store: Store,
  name: string,
  file: string,
  format: ExportFormat,
  signal?: AbortSignal,
): Promise<{ bytes: number; digest: string }> {
  const img = await store.resolveImage(name);
  for (const d of [img.manifest.config, ...img.manifest.layers]) {
    if (!store.hasBlob(parseDigest(d.digest)))
      throw new StrataError(
        'STORE',
        `${name}: blob ${d.digest} is not in the store`,
        `pull or build ${name} again`,
      );
  }
  const temps: string[] = [];
  const out = path.resolve(file);
  const partial = `${out}.tmp-${process.pid}`;
  try {
    const members =
      format === 'oci'
        ? ociMembers(store, img, name)
        : await dockerMembers(store, img, dockerTag(name), temps);
    await pipeline(tarOf(members), fs.createWriteStream(partial, { flags: 'wx' }), { signal });
    const fd = fs.openSync(partial, 'r');
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fs.renameSync(partial, out);
    return { bytes: fs.statSync(out).size, digest: img.digest.toString() };
  } finally {
    fs.rmSync(partial, { force: true });
    for (const t of temps) fs.rmSync(t, { force: true });
  }
}
