// `strata verify [SPEC] [--json]`
import { resolveSpecPath, verifyEnvironment } from '../../engine/build';
import type { CliIO, Command } from '../command';
import { ProgressRenderer, progressMode, quietOnClosedPipe } from '../progress';
import { parseArgs } from '../args';

const usage = `usage: strata verify [SPEC] [--json] [--keep]

Rebuilds the environment from strata.lock alone, in a throwaway store and without the build
cache, and compares every layer with the lock: prints "reproduced", or the drift per step with
the files added, removed or changed and their sizes. This is what a collaborator runs after
receiving strata.yaml and strata.lock.

  --json   print progress and the report as JSON lines (NDJSON)
  --keep   keep the throwaway store and print where it is

Exit status: 0 reproduced; 1 drift, a stale or missing lock, or a failed step.`;

export const verifyCommand: Command = {
  name: 'verify',
  summary: 'rebuild from strata.lock in a throwaway store and report reproduced or drift',
  usage,
  async run(args: string[], io: CliIO): Promise<number> {
    const { flags, positional } = parseArgs(args, 'verify', [], ['--json', '--keep']);
    quietOnClosedPipe(io.stdout);
    const spec = resolveSpecPath(positional[0], io.cwd);
    const json = flags.has('--json');
    const progress = new ProgressRenderer(io.stdout, progressMode(io.stdout, json), io.env);
    try {
      const result = await verifyEnvironment(spec, {
        signal: io.signal,
        onEvent: progress.onEvent,
        env: io.env,
        cwd: io.cwd,
        keep: flags.has('--keep'),
      });
      return result.report?.status === 'reproduced' ? 0 : 1;
    } finally {
      progress.close();
    }
  },
};
