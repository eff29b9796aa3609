// `strata export IMAGE FILE --format oci|docker`: writes one image as an archive.
import * as path from 'node:path';
import { StrataError } from '../../engine/errors';
import { exportImage } from '../../engine/image/export';
import { defaultStrataHome } from '../../engine/store/paths';
import { openStore } from '../../engine/store/store';
import type { Command } from '../command';
import { formatBytes } from '../progress';
import { parseArgs } from './pull';

export const exportCommand: Command = {
  name: 'export',
  summary: 'write an image of the store to an archive (oci or docker format)',
  usage: `usage: strata export [--format oci|docker] [--json] IMAGE FILE

Writes IMAGE (a name from 'strata images', or a manifest digest) to FILE:
  --format oci     (default) an OCI image layout in a tar, named IMAGE inside; read by
                   skopeo copy oci-archive:FILE …, podman load, Apptainer (oci-archive:FILE)
  --format docker  a docker-archive (layers uncompressed) for docker load and podman load
The archive is written to FILE.tmp-PID and renamed when complete.

  --json           print the result as JSON`,
  async run(args, io) {
    const { flags, positional } = parseArgs(args, 'export', ['--format'], ['--json']);
    if (positional.length !== 2)
      throw new StrataError(
        'USAGE',
        'strata export takes an image and a file',
        'e.g. strata export strata/my-env my-env.tar',
      );
    const format = flags.get('--format') ?? 'oci';
    if (format !== 'oci' && format !== 'docker') {
      throw new StrataError(
        'USAGE',
        `strata export: unknown format '${format}'`,
        'use --format oci or --format docker',
      );
    }
    const store = openStore(defaultStrataHome(io.env));
    const file = path.resolve(io.cwd, positional[1]!);
    const r = await exportImage(store, positional[0]!, file, format, io.signal);
    if (flags.has('--json'))
      io.stdout.write(JSON.stringify({ type: 'result', image: positional[0], file, format, ...r }) + '\n');
    else
      io.stdout.write(
        `exported ${positional[0]} (${r.digest}) to ${file} as ${format} archive, ${formatBytes(r.bytes)}\n`,
      );
    return 0;
  },
};
