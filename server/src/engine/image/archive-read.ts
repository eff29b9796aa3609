// Reads an image archive (oci-archive as `skopeo copy … oci-archive:` and `podman save --format
// oci-archive` write it; docker-archive as `docker save`, `podman save` and `skopeo copy …
// docker-archive:` write it; optionally gzipped) in one pass: blobs stream straight into the store
// (content-addressed names verified against their digest), small JSON documents are kept, and
// legacy docker layer files are hashed on the way. Nothing is named here; import.ts decides.
import * as fs from 'node:fs';
import * as zlib from 'node:zlib';
import { pipeline, Readable } from 'node:stream';
import * as tar from 'tar-stream';
import { Digest, parseDigest } from '../digest';
import { StrataError } from '../errors';
import type { Store } from '../store/store';

const MAX_JSON = 4 << 20;

export interface ArchiveContents {
  /** Small documents by path: oci-layout, index.json, manifest.json, docker config files. */
  json: Map<string, Buffer>;
  /** Every stored file by path: its digest and size (blobs/sha256/*, <id>/layer.tar, <hex>.json). */
  files: Map<string, { digest: Digest; size: number }>;
  /** Symlinks by path (legacy docker archives link repeated layers). */
  links: Map<string, string>;
}

function normalize(name: string): string {
  return name.replace(/^\.?\/+/, '').replace(/\/+$/, '');
}

function isJsonDocument(p: string): boolean {
  return p === 'oci-layout' || p === 'index.json' || p === 'manifest.json' || /^[0-9a-f]{64}\.json$/.test(p);
}

async function bufferOf(stream: AsyncIterable<Uint8Array>, file: string, p: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  let n = 0;
  for await (const c of stream) {
    n += c.length;
    if (n > MAX_JSON)
      throw new StrataError(
        'REF',
        `${file}: ${p} is larger than 4 MiB`,
        'this is not an image archive Strata can read',
      );
    parts.push(Buffer.from(c));
  }
  return Buffer.concat(parts);
}

async function isGzip(file: string): Promise<boolean> {
  const fh = await fs.promises.open(file, 'r');
  try {
    const b = Buffer.alloc(2);
    await fh.read(b, 0, 2, 0);
    return b[0] === 0x1f && b[1] === 0x8b;
  } finally {
    await fh.close();
  }
}

export async function readArchive(
  store: Store,
  file: string,
  signal?: AbortSignal,
  onProgress?: (read: number, total: number) => void,
): Promise<ArchiveContents> {
  if (!fs.existsSync(file))
    throw new StrataError(
      'USAGE',
      `${file} does not exist`,
      'give the path of an oci-archive or docker-archive tar',
    );
  const contents: ArchiveContents = { json: new Map(), files: new Map(), links: new Map() };
  const extract = tar.extract();
  // Decide before the stream exists: once it flows, no await may come before pipe() (data would be lost).
  const gzipped = await isGzip(file);
  const raw = fs.createReadStream(file, { highWaterMark: 1 << 20 });
  const total = fs.statSync(file).size;
  let read = 0;
  if (onProgress) raw.on('data', (c) => onProgress((read += c.length), total));
  let source: Readable = raw;
  if (gzipped) source = pipeline(source, zlib.createGunzip(), () => {});
  source.on('error', (e) => extract.destroy(e));
  source.pipe(extract as unknown as NodeJS.WritableStream);
  try {
    for await (const entry of extract) {
      if (signal?.aborted) throw new StrataError('CANCELLED', 'import cancelled');
      const p = normalize(entry.header.name);
      const data = entry as unknown as AsyncIterable<Uint8Array>;
      const type = entry.header.type;
      if (type === 'symlink') {
        contents.links.set(p, entry.header.linkname ?? '');
        entry.resume();
        continue;
      }
      if (type !== 'file' && type !== 'contiguous-file') {
        entry.resume();
        continue;
      }
      const blob = /^blobs\/sha256\/([0-9a-f]{64})$/.exec(p);
      if (p === 'oci-layout' || p === 'index.json' || p === 'manifest.json') {
        contents.json.set(p, await bufferOf(data, file, p));
      } else if (blob) {
        const expected = parseDigest(`sha256:${blob[1]}`, `${file}: ${p}`);
        const r = await store.ingestBlob(data, {
          expected,
          size: entry.header.size,
          where: `${file}: ${p}`,
          signal,
        });
        contents.files.set(p, { digest: r.digest, size: r.size });
      } else if (
        !p.startsWith('blobs/') &&
        p !== 'repositories' &&
        !p.endsWith('/VERSION') &&
        !p.endsWith('/json')
      ) {
        // Docker archives name layers and configs variously (<id>/layer.tar, <hex>.tar, <hex>.json):
        // store every other file; manifest.json says later which are which, gc drops the rest.
        const r = await store.ingestBlob(data, { size: entry.header.size, where: `${file}: ${p}`, signal });
        contents.files.set(p, { digest: r.digest, size: r.size });
        if (isJsonDocument(p) && r.size <= MAX_JSON) contents.json.set(p, await store.readBlob(r.digest));
      } else {
        entry.resume();
      }
    }
  } catch (e) {
    if (e instanceof StrataError) throw e;
    throw new StrataError(
      'REF',
      `${file} is not a readable tar archive: ${(e as Error).message}`,
      'give an oci-archive or docker-archive, e.g. from skopeo copy or podman save',
      {
        cause: e,
      },
    );
  }
  return contents;
}
