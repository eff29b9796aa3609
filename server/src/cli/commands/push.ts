// `strata push IMAGE REF`: sends an image of the store to a registry; only missing blobs travel.
import { StrataError } from '../../engine/errors';
import { RegistryClient } from '../../engine/registry/client';
import { pushImage } from '../../engine/registry/push';
import { openStore } from '../../engine/store/store';
import { defaultStrataHome } from '../../engine/store/paths';
import type { Command } from '../command';
import { formatBytes } from '../progress';
import { parseArgs, TransferProgress } from './pull';

export const pushCommand: Command = {
  name: 'push',
  summary: 'send an image of the store to a registry (only missing blobs)',
  usage: `usage: strata push [--mount-from REPO]... [--json] IMAGE REF

Sends IMAGE (a name from 'strata images', e.g. strata/my-env, or a manifest digest) to REF
(e.g. ghcr.io/org/my-env:1.0). Blobs the registry already has are skipped (checked with HEAD);
blobs another repository of the same registry holds are mounted, not uploaded; then the
manifest is stored by digest and by tag. Prints the pushed reference pinned to its digest.

  --mount-from REPO   also try to mount blobs from this repository of the target registry
  --json              print progress and the result as JSON lines

Credentials come from ~/.docker/config.json (auths, credsStore, credHelpers). Plain HTTP is used
only for loopback hosts and hosts marked insecure in $XDG_CONFIG_HOME/strata/config.yaml.`,
  async run(args, io) {
    const { flags, positional } = parseArgs(args, 'push', ['--mount-from'], ['--json']);
    if (positional.length !== 2) {
      throw new StrataError(
        'USAGE',
        'strata push takes an image and a target reference',
        'e.g. strata push strata/my-env ghcr.io/org/my-env:1.0',
      );
    }
    const mountFrom: string[] = [];
    for (let i = 0; i < args.length; i++) {
      if (args[i] === '--mount-from' && args[i + 1]) mountFrom.push(args[i + 1]!);
      else if (args[i]!.startsWith('--mount-from=')) mountFrom.push(args[i]!.slice('--mount-from='.length));
    }
    const json = flags.has('--json');
    const store = openStore(defaultStrataHome(io.env));
    const client = new RegistryClient({ env: io.env, signal: io.signal });
    const progress = new TransferProgress(io, json, 'pushing');
    try {
      const result = await pushImage(positional[0]!, positional[1]!, {
        store,
        client,
        signal: io.signal,
        onEvent: progress.onEvent,
        mountFrom,
      });
      progress.close();
      if (json) io.stdout.write(JSON.stringify({ type: 'result', ...result }) + '\n');
      else
        io.stdout.write(
          `pushed ${result.pinned} (${result.uploaded.length} uploaded, ${formatBytes(result.bytesUploaded)}; ` +
            `${result.mounted.length} mounted; ${result.present.length} already there)\n`,
        );
      return 0;
    } finally {
      progress.close();
    }
  },
};
