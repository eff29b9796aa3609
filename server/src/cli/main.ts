// The `strata` command line: argument parsing, progress rendering and exit codes over the engine.
import { StrataError } from '../engine/errors';

const VERSION = '0.1.0';

const HELP = `strata ${VERSION}: reproducible research environments without root or daemon

usage: strata COMMAND [ARGS]

commands:
  validate [FILES...]   check strata.yaml files
  build [SPEC]          build the environment into a layered OCI image and write strata.lock
  run [SPEC] [WORKLOAD] run a workload in an isolated container
  --version             print the version
`;

async function main(argv: string[]): Promise<number> {
  const [command] = argv;
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(HELP);
    return 0;
  }
  if (command === '--version') {
    process.stdout.write(`strata ${VERSION}\n`);
    return 0;
  }
  throw new StrataError(
    'USAGE',
    `unknown command '${command}'`,
    "run 'strata --help' for the list of commands",
  );
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    if (e instanceof StrataError) {
      process.stderr.write(`strata: ${e.render()}\n`);
      process.exit(e.code === 'USAGE' ? 2 : 125);
    }
    process.stderr.write(
      `strata: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`,
    );
    process.exit(125);
  },
);
