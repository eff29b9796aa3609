// `strata fsck [--repair]`: checks every blob, reference and layer tree of the store.
import { StrataError } from '../../engine/errors';
import { fsck } from '../../engine/store/fsck';
import { defaultStrataHome } from '../../engine/store/paths';
import { openStore } from '../../engine/store/store';
import type { Command } from '../command';
import { parseArgs } from './pull';

export const fsckCommand: Command = {
  name: 'fsck',
  summary: 'check the store: re-hash blobs, follow references, check layer trees',
  usage: `usage: strata fsck [--deep] [--repair] [--json]

Re-hashes every blob of the store ($STRATA_HOME), follows every reference from the named images,
the build cache and running containers, checks every unpacked layer against what was recorded
when it was unpacked (its files' names, types, modes, sizes, times and link targets: a file edited,
chmod-ed, added or removed shows), and lists leftovers of interrupted pulls and builds (stale:
harmless, removed by gc or --repair). Exits 1 when something is broken.

  --deep     also hash every file of every unpacked layer and compare it with the layer blob
             (reads everything; finds an edit that put the old time back)
  --repair   remove what is broken: corrupt blobs, names and cache entries whose content is
             missing or corrupt, altered or incomplete layer trees, stale temp files (pull or
             build again to bring content back); waits for running pulls and builds
  --json     print each problem and the summary as JSON lines`,
  async run(args, io) {
    const { flags, positional } = parseArgs(args, 'fsck', [], ['--json', '--repair', '--deep']);
    if (positional.length)
      throw new StrataError('USAGE', 'strata fsck takes no arguments', "see 'strata fsck --help'");
    const json = flags.has('--json');
    const repair = flags.has('--repair');
    const store = openStore(defaultStrataHome(io.env));
    const tty = io.stderr.isTTY === true && !json;
    const report = await fsck(store, {
      repair,
      deep: flags.has('--deep'),
      signal: io.signal,
      onWait: (m) => io.stderr.write(`strata fsck: ${m}\n`),
      onProgress: tty
        ? (done, total) => io.stderr.write(`\r\x1b[2K  hashing blobs ${done}/${total}`)
        : undefined,
    });
    if (tty) io.stderr.write('\r\x1b[2K');
    for (const p of report.problems) {
      if (json)
        io.stdout.write(JSON.stringify({ type: 'problem', message: p.message, repair: p.repair }) + '\n');
      else io.stdout.write(`${repair && p.repair ? 'repaired' : 'problem'}: ${p.message}\n`);
    }
    const summary = {
      type: 'result',
      blobs: report.blobs,
      trees: report.trees,
      countsOnly: report.countsOnly,
      problems: report.problems.length,
      repaired: report.repaired,
      notRepaired: report.notRepaired,
    };
    if (!json && report.countsOnly > 0)
      io.stdout.write(
        `note: ${report.countsOnly} layer tree(s) hold no listing (unpacked by an older Strata or by a pull): checked by entry counts only; 'strata fsck --deep' compares their files with the blobs\n`,
      );
    if (json) io.stdout.write(JSON.stringify(summary) + '\n');
    else
      io.stdout.write(
        `${report.blobs} blobs, ${report.trees} layer trees checked: ${report.problems.length === 0 ? 'no problems' : `${report.problems.length} problem(s)${repair ? `, ${report.repaired} repaired` : " (run 'strata fsck --repair')"}`}\n`,
      );
    for (const what of report.notRepaired)
      io.stderr.write(`strata fsck: warning: could not repair ${what}\n`);
    const unrepaired = report.problems.filter((p) => !(repair && p.repair));
    return unrepaired.length === 0 && report.notRepaired.length === 0 ? 0 : 1;
  },
};
