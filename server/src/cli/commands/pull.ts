// `strata pull REF`: fetches an image into the store, verified, and unpacks its layers.
import { StrataError } from '../../engine/errors';
import { RegistryClient } from '../../engine/registry/client';
import type { TransferEvent } from '../../engine/registry/events';
import { parsePlatform } from '../../engine/registry/platform';
import { pullImage } from '../../engine/registry/pull';
import { openStore } from '../../engine/store/store';
import { defaultStrataHome } from '../../engine/store/paths';
import { parseArgs } from '../args';
import type { CliIO, Command } from '../command';
import { formatBytes } from '../progress';

// Kept here too for the commands that import it from './pull'; it lives in ../args.
export { parseArgs };

/**
 * Renders pull and push progress: NDJSON events with --json; on a terminal one live line with the
 * bytes moved of the total; otherwise one line per finished blob.
 */
export class TransferProgress {
  private total = 0;
  private readonly done = new Map<string, number>();
  private readonly unpacking = new Set<string>();
  private drawn = false;

  constructor(
    private readonly io: CliIO,
    private readonly json: boolean,
    private readonly verb: string,
  ) {}

  readonly onEvent = (e: TransferEvent): void => {
    const out = this.io.stdout;
    if (this.json) {
      out.write(JSON.stringify(e) + '\n');
      return;
    }
    const tty = out.isTTY === true;
    switch (e.type) {
      case 'resolved':
        this.total = e.bytes;
        this.line(
          `${this.verb} ${e.ref} (${e.digest}${e.platform ? `, ${e.platform}` : ''}) ${this.verb === 'pulling' ? 'from' : 'to'} ${e.from}: ${e.blobs} blobs, ${formatBytes(e.bytes)}`,
        );
        break;
      case 'blob': {
        this.done.set(e.digest, e.done);
        const finished = e.done === e.total;
        if (tty) this.draw();
        else if (finished)
          this.line(
            `  ${e.role} ${e.digest} ${formatBytes(e.total)}${e.skipped ? ` (${e.skipped === 'present' ? 'already there' : 'mounted'})` : ''}`,
          );
        break;
      }
      case 'unpack':
        if (e.done) this.unpacking.delete(e.diffId);
        else this.unpacking.add(e.diffId);
        if (tty) this.draw();
        else if (e.done) this.line(`  unpacked ${e.diffId}`);
        break;
      case 'done':
        break;
    }
  };

  private line(text: string): void {
    this.clear();
    this.io.stdout.write(text + '\n');
  }

  private clear(): void {
    if (this.drawn) this.io.stdout.write('\r\x1b[2K');
    this.drawn = false;
  }

  private draw(): void {
    const moved = [...this.done.values()].reduce((a, b) => a + b, 0);
    const frac = this.total ? Math.min(1, moved / this.total) : 0;
    const bar = '#'.repeat(Math.round(frac * 30)).padEnd(30);
    const unpack = this.unpacking.size
      ? `, unpacking ${[...this.unpacking].map((d) => d.slice(7, 19)).join(' ')}`
      : '';
    this.io.stdout.write(`\r\x1b[2K  [${bar}] ${formatBytes(moved)} / ${formatBytes(this.total)}${unpack}`);
    this.drawn = true;
  }

  close(): void {
    this.clear();
  }
}

export const pullCommand: Command = {
  name: 'pull',
  summary: 'fetch an image from a registry into the store (verified, unpacked)',
  usage: `usage: strata pull [--platform OS/ARCH[/VARIANT]] [--no-unpack] [--json] REF

Fetches REF (e.g. debian:bookworm, ghcr.io/org/tool:1.2, busybox@sha256:…) into the store
($STRATA_HOME): every manifest and blob is checked against its digest and size while it streams,
the layers are unpacked, and the image is named by its full reference
(docker.io/library/debian:bookworm). Blobs already in the store are not fetched again.

  --platform P   the platform to choose from a multi-platform image (default: this machine's)
  --no-unpack    only fetch and verify the blobs (e.g. to push them elsewhere)
  --json         print progress and the result as JSON lines

Registries: mirrors and plain-HTTP hosts come from $XDG_CONFIG_HOME/strata/config.yaml and
STRATA_REGISTRY_MIRRORS (e.g. docker.io=http://127.0.0.1:5000); credentials from
~/.docker/config.json (auths, credsStore, credHelpers), as "docker login" writes them.`,
  async run(args, io) {
    const { flags, positional } = parseArgs(args, 'pull', ['--platform'], ['--json', '--no-unpack']);
    if (positional.length !== 1)
      throw new StrataError(
        'USAGE',
        'strata pull takes one image reference',
        'e.g. strata pull debian:bookworm',
      );
    const json = flags.has('--json');
    const platform = flags.has('--platform')
      ? parsePlatform(flags.get('--platform')!, '--platform')
      : undefined;
    const store = openStore(defaultStrataHome(io.env));
    const client = new RegistryClient({ env: io.env, signal: io.signal });
    const progress = new TransferProgress(io, json, 'pulling');
    try {
      const result = await pullImage(positional[0]!, {
        store,
        client,
        platform,
        signal: io.signal,
        onEvent: progress.onEvent,
        unpack: !flags.has('--no-unpack'),
      });
      progress.close();
      if (json) io.stdout.write(JSON.stringify({ type: 'result', ...result }) + '\n');
      else {
        const resumed = result.bytesResumed
          ? `, ${formatBytes(result.bytesResumed)} resumed from an interrupted pull`
          : '';
        io.stdout.write(
          `pulled ${result.name} ${result.digest} (${formatBytes(result.bytesDownloaded)} downloaded${resumed})\n`,
        );
      }
      return 0;
    } finally {
      progress.close();
    }
  },
};
