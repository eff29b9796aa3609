// `strata run [SPEC] [WORKLOAD] [-- CMD...]` and `strata run --image REF [-- CMD...]`
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isatty } from 'node:tty';
import { resolveSpecPath } from '../../engine/build';
import { StrataError } from '../../engine/errors';
import { currentInvocation } from '../../engine/plan';
import { runEnvironment } from '../../engine/run/run';
import type { CliIO, Command } from '../command';
import { ProgressRenderer } from '../progress';
import { parseArgs } from '../args';

const usage = `usage: strata run [SPEC] [WORKLOAD] [--locked] [--net none|host] [--tty|--no-tty] [-- CMD...]
       strata run --image REF [--net none|host] [-- CMD...]

Builds the environment if needed (cached steps are not run again), then runs WORKLOAD (the
spec's only workload when there is one) in a container: the image's layers under overlay with a
throwaway upper dir, the spec's mounts (relative to its folder), env, workdir, resources and
network (none unless the workload says host). A command after -- replaces the workload's command.
Each run writes a record under $STRATA_HOME/runs/ ('strata runs' lists them).

  --locked      build only from strata.lock's pins (see strata build --locked)
  --image REF   run an image from the store (strata/NAME) or a registry instead of a spec
  --net MODE    override the network: none or host
  --tty         give the workload a terminal (default when stdin and stdout are terminals)
  --no-tty      never give it a terminal
  --json        print build progress as JSON lines on stderr

Exit status: the workload's own; 125 Strata failed; 126 the command cannot be executed;
127 the command was not found; 1 a bad spec or failed build.`;

/** `[SPEC] [WORKLOAD]`: the first positional is the spec when it names a file or folder. */
export function specAndWorkload(positional: string[], cwd: string): { spec?: string; workload?: string } {
  const [a, b] = positional;
  if (a === undefined) return {};
  if (b !== undefined) return { spec: a, workload: b };
  const p = path.resolve(cwd, a);
  if (
    a.endsWith('.yaml') ||
    a.endsWith('.yml') ||
    a.includes('/') ||
    (fs.existsSync(p) && fs.statSync(p).isDirectory())
  )
    return { spec: a };
  return { workload: a };
}

function splitCommand(args: string[]): { own: string[]; command?: string[] } {
  const i = args.indexOf('--');
  return i < 0 ? { own: args } : { own: args.slice(0, i), command: args.slice(i + 1) };
}

export async function runCli(args: string[], io: CliIO, shell: boolean): Promise<number> {
  const { own, command } = splitCommand(args);
  const { flags, positional } = parseArgs(
    own,
    shell ? 'shell' : 'run',
    ['--image', '--net'],
    ['--locked', '--tty', '--no-tty', '--json'],
  );
  const net = flags.get('--net');
  if (net !== undefined && net !== 'none' && net !== 'host')
    throw new StrataError(
      'USAGE',
      `--net must be none or host, not '${net}'`,
      `see 'strata ${shell ? 'shell' : 'run'} --help'`,
    );
  const image = flags.get('--image');
  const { spec, workload } = image ? {} : specAndWorkload(positional, io.cwd);
  if (image && positional.length)
    throw new StrataError(
      'USAGE',
      `with --image, give the command after --, not '${positional.join(' ')}'`,
      `strata run --image ${image} -- CMD...`,
    );
  // isatty(0) rather than process.stdin.isTTY: touching process.stdin sets up a stream (~20 ms).
  const stdinTTY = isatty(0);
  const tty = flags.has('--no-tty') ? false : flags.has('--tty') || (stdinTTY && io.stdout.isTTY === true);
  // Build progress goes to stderr, so that stdout is the workload's alone.
  const progress = new ProgressRenderer(
    io.stderr,
    flags.has('--json') ? 'json' : io.stderr.isTTY ? 'tty' : 'plain',
    io.env,
  );
  let building = false;
  // A plan for the native front end (engine/plan): spec runs without --json or --locked.
  const inv =
    !shell && !image && !flags.has('--json') && !flags.has('--locked')
      ? currentInvocation(io.env, io.cwd)
      : undefined;
  try {
    const outcome = await runEnvironment({
      ...(spec !== undefined || !image ? { specPath: resolveSpecPath(spec, io.cwd) } : {}),
      ...(workload ? { workload } : {}),
      ...(command ? { command } : {}),
      ...(image ? { image } : {}),
      locked: flags.has('--locked'),
      tty,
      ...(net ? { network: net as 'none' | 'host' } : {}),
      shell,
      ...(inv ? { plan: inv } : {}),
      signal: io.signal,
      env: io.env,
      cwd: io.cwd,
      // Quiet when everything is cached: progress appears once a step really runs.
      onBuildEvent: (e) => {
        if (e.type === 'step' && e.status === 'running') building = true;
        if (building || flags.has('--json') || (e.type === 'pull' && e.bytes > 0)) progress.onEvent(e);
      },
      onWarning: (m) => io.stderr.write(`strata: warning: ${m}\n`),
    });
    return outcome.exitCode;
  } finally {
    progress.close();
  }
}

export const runCommand: Command = {
  name: 'run',
  summary: 'run a workload of strata.yaml (or a command) in its environment',
  usage,
  run: (args, io) => runCli(args, io, false),
};
