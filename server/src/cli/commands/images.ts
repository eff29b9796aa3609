// `strata images`: the named images of the store, with their manifest digest, layer count and size.
import { StrataError } from '../../engine/errors';
import { defaultStrataHome } from '../../engine/store/paths';
import { openStore } from '../../engine/store/store';
import type { Command } from '../command';
import { formatBytes, shortDigest } from '../progress';
import { parseArgs } from './pull';

export const imagesCommand: Command = {
  name: 'images',
  summary: 'list the images in the store',
  usage: `usage: strata images [--json] [--digests]

Lists the images named in the store ($STRATA_HOME/oci/index.json): name, manifest digest, number
of layers and compressed size. Pulled images carry their full reference
(docker.io/library/debian:bookworm), built ones strata/NAME. The store is an OCI image layout, so
other tools read it too: skopeo inspect oci:$STRATA_HOME/oci:NAME.

  --digests   show full digests
  --json      one JSON object per image`,
  async run(args, io) {
    const { flags, positional } = parseArgs(args, 'images', [], ['--json', '--digests']);
    if (positional.length)
      throw new StrataError('USAGE', 'strata images takes no arguments', "see 'strata images --help'");
    const store = openStore(defaultStrataHome(io.env));
    const rows: {
      name: string;
      digest: string;
      layers: number;
      size: number;
      created?: string;
      platform?: string;
      error?: string;
    }[] = [];
    for (const { name, descriptor } of store.listImages()) {
      try {
        const img = await store.readImage(name, descriptor);
        const size =
          descriptor.size + img.manifest.config.size + img.manifest.layers.reduce((a, l) => a + l.size, 0);
        rows.push({
          name,
          digest: img.digest.toString(),
          layers: img.layers.length,
          size,
          created: img.config.created,
          platform: `${img.config.os}/${img.config.architecture}${img.config.variant ? `/${img.config.variant}` : ''}`,
        });
      } catch (e) {
        rows.push({ name, digest: descriptor.digest, layers: 0, size: 0, error: (e as Error).message });
      }
    }
    if (flags.has('--json')) {
      for (const r of rows) io.stdout.write(JSON.stringify(r) + '\n');
      return 0;
    }
    if (rows.length === 0) {
      io.stdout.write(`no images in ${store.home} (strata pull REF, or strata build)\n`);
      return 0;
    }
    const full = flags.has('--digests');
    const table = [['NAME', 'DIGEST', 'LAYERS', 'SIZE', 'PLATFORM']].concat(
      rows.map((r) => [
        r.name,
        full ? r.digest : shortDigest(r.digest),
        r.error ? '?' : String(r.layers),
        r.error ? `broken: ${r.error}` : formatBytes(r.size),
        r.platform ?? '',
      ]),
    );
    const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
    for (const row of table)
      io.stdout.write(row.map((c, i) => (i === row.length - 1 ? c : c.padEnd(widths[i]!))).join('  ') + '\n');
    return 0;
  },
};
