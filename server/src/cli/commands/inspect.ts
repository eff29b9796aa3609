// `strata inspect REF`: manifest, config and layers of an image, from the store when it holds the
// name, else from its registry (nothing is stored). Text for people, --json for programs.
import { StrataError } from '../../engine/errors';
import { formatImageRef, parseImageRef } from '../../engine/image/ref';
import { RegistryClient } from '../../engine/registry/client';
import { describe, inspectRemote, type ImageDescription } from '../../engine/registry/inspect';
import { parsePlatform } from '../../engine/registry/platform';
import { openStore, type Store } from '../../engine/store/store';
import { defaultStrataHome } from '../../engine/store/paths';
import type { Command } from '../command';
import { formatBytes } from '../progress';
import { parseArgs } from './pull';

/** The store's name for `text`: as written, or its normalised reference. */
function localName(store: Store, text: string): string | undefined {
  if (store.findImage(text)) return text;
  if (/^sha256:/.test(text)) return text;
  try {
    const name = formatImageRef(parseImageRef(text));
    return store.findImage(name) ? name : undefined;
  } catch {
    return undefined;
  }
}

async function inspectLocal(store: Store, name: string): Promise<ImageDescription> {
  const image = await store.resolveImage(name);
  const mediaType = image.manifest.mediaType ?? image.descriptor.mediaType;
  return describe(
    image.name,
    `store ${store.home}`,
    image.digest.toString(),
    mediaType,
    image.manifest,
    image.config,
  );
}

export function formatDescription(d: ImageDescription): string {
  const c = d.config.config ?? {};
  const lines = [
    `Name:       ${d.name}`,
    `Source:     ${d.source}`,
    `Digest:     ${d.digest}`,
    ...(d.indexDigest ? [`Index:      ${d.indexDigest}`] : []),
    `MediaType:  ${d.mediaType}`,
    `Platform:   ${d.platform}`,
    ...(d.config.created ? [`Created:    ${d.config.created}`] : []),
    `Config:     ${d.configDigest} (${formatBytes(d.manifest.config.size)})`,
    ...(c.Entrypoint?.length ? [`Entrypoint: ${JSON.stringify(c.Entrypoint)}`] : []),
    ...(c.Cmd?.length ? [`Cmd:        ${JSON.stringify(c.Cmd)}`] : []),
    ...(c.WorkingDir ? [`WorkingDir: ${c.WorkingDir}`] : []),
    ...(c.User ? [`User:       ${c.User}`] : []),
    ...(c.Env ?? []).map((e, i) => `${i === 0 ? 'Env:       ' : '           '} ${e}`),
    `Layers:     ${d.layers.length}, ${formatBytes(d.size)} compressed in all`,
  ];
  d.layers.forEach((l, i) => {
    lines.push(
      `  ${String(i + 1).padStart(2)}  ${l.digest}  ${formatBytes(l.size).padStart(9)}  ${l.mediaType}`,
    );
    if (l.diffId) lines.push(`      diff_id ${l.diffId}`);
  });
  return lines.join('\n') + '\n';
}

export const inspectCommand: Command = {
  name: 'inspect',
  summary: 'show the manifest, config and layers of an image (local or remote)',
  usage: `usage: strata inspect [--remote] [--platform OS/ARCH[/VARIANT]] [--json] IMAGE|REF

Shows the manifest digest, platform, config (entrypoint, command, environment) and the layers
with their sizes and diff_ids. IMAGE is a name in the store (see 'strata images'); anything else
is read from its registry without storing it (mirrors and credentials as for 'strata pull').

  --remote       ask the registry even when the store holds the name
  --platform P   the platform to choose from a multi-platform image (default: this machine's)
  --json         print everything as one JSON object (manifest and config in full)`,
  async run(args, io) {
    const { flags, positional } = parseArgs(args, 'inspect', ['--platform'], ['--json', '--remote']);
    if (positional.length !== 1)
      throw new StrataError('USAGE', 'strata inspect takes one image', 'e.g. strata inspect debian:bookworm');
    const text = positional[0]!;
    const platform = flags.has('--platform')
      ? parsePlatform(flags.get('--platform')!, '--platform')
      : undefined;
    const store = openStore(defaultStrataHome(io.env));
    const local = flags.has('--remote') ? undefined : localName(store, text);
    let description: ImageDescription;
    if (local) description = await inspectLocal(store, local);
    else {
      try {
        description = await inspectRemote(text, {
          client: new RegistryClient({ env: io.env, signal: io.signal }),
          platform,
          signal: io.signal,
        });
      } catch (e) {
        // Say that the store was asked first: "strata/my-env" is usually a local name mistyped.
        if (e instanceof StrataError && e.code === 'REF' && !flags.has('--remote')) {
          throw new StrataError(
            'REF',
            `no image named ${text} in the store, and ${e.message}`,
            "see 'strata images' for local names; " + (e.hint ?? ''),
            { cause: e },
          );
        }
        throw e;
      }
    }
    if (flags.has('--json')) io.stdout.write(JSON.stringify(description, null, 2) + '\n');
    else io.stdout.write(formatDescription(description));
    return 0;
  },
};
