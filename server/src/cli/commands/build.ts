// `strata build [SPEC] [--no-cache] [--locked] [--json]`
import { buildEnvironment, resolveSpecPath } from '../../engine/build';
import type { CliIO, Command } from '../command';
import { formatMs, ProgressRenderer, progressMode, quietOnClosedPipe } from '../progress';
import { parseArgs } from '../args';

const usage = `usage: strata build [SPEC] [--no-cache] [--locked] [--json]

Builds the environment that SPEC (a strata.yaml, or a folder holding one; default: ./strata.yaml)
describes into the image strata/NAME in the store, one cached layer per step, and writes
strata.lock beside the spec when it changed.

  --no-cache   run every step again instead of reusing cached layers
  --locked     build only from strata.lock's pins (base digest, package versions and hashes);
               fail if the lock is stale; compare every layer with the lock and report
               "reproduced" or the drift (exit 1)
  --json       print progress as JSON lines (NDJSON), one event per line

Exit status: 0 built; 1 a bad spec, a failed step, a stale lock or drift; 130 interrupted.
The output of every step is kept in $STRATA_HOME/logs/NAME.log.`;

export const buildCommand: Command = {
  name: 'build',
  summary: 'build strata.yaml into an image and write strata.lock',
  usage,
  async run(args: string[], io: CliIO): Promise<number> {
    const { flags, positional } = parseArgs(args, 'build', [], ['--no-cache', '--locked', '--json']);
    quietOnClosedPipe(io.stdout);
    const spec = resolveSpecPath(positional[0], io.cwd);
    const json = flags.has('--json');
    const progress = new ProgressRenderer(io.stdout, progressMode(io.stdout, json), io.env);
    try {
      const result = await buildEnvironment(spec, {
        noCache: flags.has('--no-cache'),
        locked: flags.has('--locked'),
        signal: io.signal,
        onEvent: progress.onEvent,
        env: io.env,
        cwd: io.cwd,
      });
      progress.close();
      if (!json) {
        for (const w of result.warnings) io.stderr.write(`${w}\n`);
        if (progress.mode === 'tty')
          io.stdout.write(
            `built ${result.image} ${result.manifestDigest} in ${formatMs(result.elapsedMs)}\n`,
          );
      }
      return result.report?.status === 'drift' ? 1 : 0;
    } finally {
      progress.close();
    }
  },
};
