// `strata runs` and `strata runs show ID`
import { defaultStrataHome } from '../../engine/store/paths';
import { findRunRecord, listRunRecords } from '../../engine/run/records';
import { StrataError } from '../../engine/errors';
import type { CliIO, Command } from '../command';
import { formatMs, quietOnClosedPipe } from '../progress';
import { parseArgs } from '../args';

const usage = `usage: strata runs [--json]
       strata runs show ID [--json]

Lists the run records in $STRATA_HOME/runs/ (newest first), or prints one: image and lock
digests, command, env, mounts, host kernel and CPU, times, exit status, resource usage and the
sha256 of every declared output file. ID may be a unique prefix.`;

export const runsCommand: Command = {
  name: 'runs',
  summary: 'list the records of past runs, or show one',
  usage,
  async run(args: string[], io: CliIO): Promise<number> {
    const { flags, positional } = parseArgs(args, 'runs', [], ['--json']);
    quietOnClosedPipe(io.stdout);
    const home = defaultStrataHome(io.env);
    const json = flags.has('--json');
    if (positional[0] === 'show') {
      if (!positional[1])
        throw new StrataError(
          'USAGE',
          'strata runs show: which run?',
          "give its id ('strata runs' lists them)",
        );
      const { record, file } = findRunRecord(home, positional[1]);
      if (json) {
        io.stdout.write(JSON.stringify(record) + '\n');
        return 0;
      }
      const r = record;
      const lines = [
        `run ${r.id}  (${file})`,
        `  workload  ${r.workload ?? '-'}${r.spec ? `  from ${r.spec}` : ''}`,
        `  image     ${r.image.name} ${r.image.manifest}`,
        `  lock      ${r.lock ? `${r.lock.digest} (${r.lock.path})` : '-'}`,
        `  command   ${JSON.stringify(r.command)}`,
        `  workdir   ${r.workdir}   network ${r.network}`,
        ...r.mounts.map((m) => `  mount     ${m.src} -> ${m.dest}${m.readonly ? ' (read-only)' : ''}`),
        `  env       ${Object.entries(r.env)
          .map(([k, v]) => `${k}=${v}`)
          .join(' ')}`,
        `  host      ${r.host.kernel}, ${r.host.cpu.count} x ${r.host.cpu.model}`,
        `  started   ${r.startedAt}   ended ${r.endedAt}   (${formatMs(r.durationMs)})`,
        `  exit      ${r.exit.code}${r.exit.signal ? ` (${r.exit.signal})` : ''}${r.exit.oomKilled ? ' (out of memory)' : ''}${r.exit.interrupted ? ` (interrupted by ${r.exit.interrupted})` : ''}`,
        ...(r.rusage
          ? [
              `  usage     user ${r.rusage.userCpuMs} ms, system ${r.rusage.systemCpuMs} ms, max RSS ${r.rusage.maxRssKiB} KiB`,
            ]
          : []),
        ...(r.outputs.length ? ['  outputs'] : ['  outputs   -']),
        ...r.outputs.map((o) => `    ${o.sha256}  ${o.path}  (${o.size} bytes)`),
      ];
      io.stdout.write(lines.join('\n') + '\n');
      return 0;
    }
    if (positional.length)
      throw new StrataError(
        'USAGE',
        `strata runs: unknown argument '${positional[0]}'`,
        "see 'strata runs --help'",
      );
    const all = listRunRecords(home);
    if (json) {
      for (const { record, file } of all) io.stdout.write(JSON.stringify({ ...record, file }) + '\n');
      return 0;
    }
    if (all.length === 0) {
      io.stdout.write(`no runs yet in ${home}/runs\n`);
      return 0;
    }
    io.stdout.write(
      `${'ID'.padEnd(23)} ${'STARTED'.padEnd(20)} ${'EXIT'.padStart(4)} ${'TIME'.padStart(8)}  WORKLOAD / COMMAND\n`,
    );
    for (const { record: r } of all) {
      const what = r.workload
        ? `${r.workload} (${r.spec ?? r.image.name})`
        : `${r.command.join(' ')} (${r.image.name})`;
      io.stdout.write(
        `${r.id.padEnd(23)} ${r.startedAt.slice(0, 19).replace('T', ' ').padEnd(20)} ${String(r.exit.code).padStart(4)} ${formatMs(r.durationMs).padStart(8)}  ${what}\n`,
      );
    }
    return 0;
  },
};
