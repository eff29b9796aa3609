// `strata import FILE`: loads an oci-archive or docker-archive into the store.
import { StrataError } from '../../engine/errors';
import { importArchive } from '../../engine/image/import';
import { defaultStrataHome } from '../../engine/store/paths';
import { openStore } from '../../engine/store/store';
import * as path from 'node:path';
import type { Command } from '../command';
import { formatBytes } from '../progress';
import { parseArgs } from './pull';

export const importCommand: Command = {
  name: 'import',
  summary: 'load an image archive (oci-archive or docker-archive) into the store',
  usage: `usage: strata import [--name NAME] [--no-unpack] [--json] FILE

Loads FILE into the store ($STRATA_HOME): an oci-archive (skopeo copy … oci-archive:FILE:NAME,
podman save --format oci-archive) or a docker-archive (docker save, podman save, skopeo copy …
docker-archive:FILE), plain or gzipped. Every blob is checked against its digest, the layers
are unpacked, and the image is named as in the archive (org.opencontainers.image.ref.name, or
RepoTags normalised: busybox:latest becomes docker.io/library/busybox:latest).

  --name NAME   name the (first) image NAME instead
  --no-unpack   only store and verify the blobs
  --json        print the result as JSON lines`,
  async run(args, io) {
    const { flags, positional } = parseArgs(args, 'import', ['--name'], ['--json', '--no-unpack']);
    if (positional.length !== 1)
      throw new StrataError('USAGE', 'strata import takes one archive file', 'e.g. strata import debian.tar');
    const store = openStore(defaultStrataHome(io.env));
    const file = path.resolve(io.cwd, positional[0]!);
    const json = flags.has('--json');
    const tty = !json && io.stderr.isTTY === true;
    let lastJson = 0;
    const onProgress = (read: number, total: number) => {
      if (tty) {
        const bar = '#'.repeat(Math.round((read / Math.max(1, total)) * 30)).padEnd(30);
        io.stderr.write(`\r\x1b[2K  importing [${bar}] ${formatBytes(read)} / ${formatBytes(total)}`);
      } else if (json && (read === total || read - lastJson >= 8 << 20)) {
        lastJson = read;
        io.stdout.write(JSON.stringify({ type: 'progress', file, read, total }) + '\n');
      }
    };
    let images;
    try {
      images = await importArchive(store, file, {
        name: flags.get('--name'),
        unpack: !flags.has('--no-unpack'),
        signal: io.signal,
        onProgress,
      });
    } finally {
      if (tty) io.stderr.write('\r\x1b[2K');
    }
    for (const img of images) {
      if (flags.has('--json')) io.stdout.write(JSON.stringify({ type: 'result', ...img }) + '\n');
      else io.stdout.write(`imported ${img.name} ${img.digest} (${img.format})\n`);
    }
    return 0;
  },
};
