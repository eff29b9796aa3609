// The `strata` command line: finds the command in the table, runs it, maps errors to exit codes.
// Exit codes: 0 success; 1 a user error (bad spec, failed step, drift); 2 bad usage; 125 Strata
// itself failed; `strata run` returns the workload's own code (126 cannot execute, 127 not found).
import { StrataError } from '../engine/errors';
import { commands } from './commands';
import type { CliIO } from './command';

const VERSION = '0.1.0';

function help(): string {
  const width = Math.max(...commands.map((c) => c.name.length), 8);
  const list = commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join('\n');
  return (
    `strata ${VERSION}: reproducible research environments without root or daemon\n\n` +
    `usage: strata COMMAND [ARGS]   (strata COMMAND --help for details)\n\ncommands:\n${list}\n`
  );
}

const USER_ERRORS = new Set([
  'SPEC',
  'LOCK',
  'REF',
  'BUILD',
  'DRIFT',
  'LAYER',
  'DIGEST',
  'REGISTRY',
  'STORE',
]);

export function exitCodeFor(e: StrataError): number {
  if (e.code === 'USAGE') return 2;
  if (e.code === 'CANCELLED') return 130;
  return USER_ERRORS.has(e.code) ? 1 : 125;
}

// `strata images | head` closes our stdout early: that is the reader's choice, not a failure.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
    throw e;
  });
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(help());
    return 0;
  }
  if (name === '--version') {
    process.stdout.write(`strata ${VERSION}\n`);
    return 0;
  }
  const entry = commands.find((c) => c.name === name);
  if (!entry) {
    throw new StrataError(
      'USAGE',
      `unknown command '${name}'`,
      "run 'strata --help' for the list of commands",
    );
  }
  const command = entry.load();
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(command.usage.endsWith('\n') ? command.usage : command.usage + '\n');
    return 0;
  }
  const controller = new AbortController();
  const onSignal = (sig: NodeJS.Signals) => {
    if (controller.signal.aborted) process.exit(130); // a second Ctrl-C: give up at once
    controller.abort(new StrataError('CANCELLED', `cancelled by ${sig}`));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const io: CliIO = {
    stdout: process.stdout,
    stderr: process.stderr,
    signal: controller.signal,
    env: process.env,
    cwd: process.cwd(),
  };
  return command.run(rest, io);
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    if (e instanceof StrataError) {
      process.stderr.write(`strata: ${e.render()}\n`);
      process.exit(exitCodeFor(e));
    }
    process.stderr.write(
      `strata: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`,
    );
    process.exit(125);
  },
);
