// The named images of the store: `oci/index.json`, each manifest descriptor annotated with
// org.opencontainers.image.ref.name (as skopeo's and umoci's `oci:DIR:NAME` expect). Updates are
// read-modify-write under a mutex and written atomically, so concurrent tags never lose each other.
import { StrataError } from '../errors';
import { MediaType } from '../image/media-types';
import { Descriptor, ImageIndex, REF_NAME_ANNOTATION } from '../image/types';
import { readJsonIfExists, writeFileAtomic } from './fsutil';
import type { StorePaths } from './paths';

// image-spec annotations.md: ref ::= component ("/" component)*, component ::= alphanum (separator
// alphanum)*, separator ::= [-._:@+] | "--".
const REF_NAME_RE =
  /^[A-Za-z0-9]+(?:(?:[-._:@+]|--)[A-Za-z0-9]+)*(?:\/[A-Za-z0-9]+(?:(?:[-._:@+]|--)[A-Za-z0-9]+)*)*$/;

export function checkImageName(name: string): void {
  if (name.length === 0 || name.length > 512 || !REF_NAME_RE.test(name)) {
    throw new StrataError(
      'REF',
      `invalid image name ${JSON.stringify(name)}`,
      'use letters, digits and . _ - : @ + separated by /, e.g. strata/my-env or docker.io/library/debian:bookworm',
    );
  }
}

export function emptyIndex(): ImageIndex {
  return { schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: [] };
}

export function readIndex(paths: StorePaths): ImageIndex {
  let index: ImageIndex | undefined;
  try {
    index = readJsonIfExists<ImageIndex>(paths.indexJson);
  } catch (e) {
    throw new StrataError('STORE', `${paths.indexJson} is not valid JSON`, "run 'strata fsck --repair'", {
      cause: e,
    });
  }
  if (!index) return emptyIndex();
  if (!Array.isArray(index.manifests)) {
    throw new StrataError('STORE', `${paths.indexJson} has no manifests list`, "run 'strata fsck --repair'");
  }
  return index;
}

export function writeIndex(paths: StorePaths, index: ImageIndex): void {
  writeFileAtomic(paths.indexJson, JSON.stringify(index, null, 2) + '\n');
}

export function nameOf(d: Descriptor): string | undefined {
  return d.annotations?.[REF_NAME_ANNOTATION];
}

/** Returns `index` with `name` pointing at `descriptor` (replacing an earlier entry of that name). */
export function withName(index: ImageIndex, name: string, descriptor: Descriptor): ImageIndex {
  const manifests = index.manifests.filter((m) => nameOf(m) !== name);
  manifests.push({
    ...descriptor,
    annotations: { ...(descriptor.annotations ?? {}), [REF_NAME_ANNOTATION]: name },
  });
  manifests.sort((a, b) => (nameOf(a) ?? '').localeCompare(nameOf(b) ?? ''));
  return { ...index, manifests };
}

export function withoutName(index: ImageIndex, name: string): ImageIndex {
  return { ...index, manifests: index.manifests.filter((m) => nameOf(m) !== name) };
}
