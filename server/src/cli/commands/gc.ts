// `strata gc`: removes blobs, layer trees and stale temp files no image, cache entry or running
// container needs.
import { StrataError } from '../../engine/errors';
import { gc } from '../../engine/store/gc';
import { defaultStrataHome } from '../../engine/store/paths';
import { openStore } from '../../engine/store/store';
import type { Command } from '../command';
import { formatBytes } from '../progress';
import { parseArgs } from './pull';

export const gcCommand: Command = {
  name: 'gc',
  summary: 'remove content no image, build cache entry or running container uses',
  usage: `usage: strata gc [--dry-run] [--json]

Removes from the store ($STRATA_HOME) every blob and unpacked layer that no named image, build
cache entry or running container reaches, and temp files left by processes that are gone (a pull
or build killed halfway, a download cut short that no pull resumed). Also: temp entries that name
no process once a day old, scratch dirs of runs that crashed (an hour old, older than every
running container), copy steps' remembered content digests whose source folder is gone, and
build logs beyond the last two of each image (all of them a day after the image is gone). Waits
for running pulls and builds to finish, and makes new ones wait. Stops without removing anything
when a named image cannot be read: run 'strata fsck' then.

  --dry-run   only report what would be removed
  --json      print the report as JSON

Exits 1 when something could not be removed (each named on stderr, the rest is removed).`,
  async run(args, io) {
    const { flags, positional } = parseArgs(args, 'gc', [], ['--json', '--dry-run']);
    if (positional.length)
      throw new StrataError('USAGE', 'strata gc takes no arguments', "see 'strata gc --help'");
    const json = flags.has('--json');
    const store = openStore(defaultStrataHome(io.env));
    const report = await gc(store, {
      dryRun: flags.has('--dry-run'),
      signal: io.signal,
      onWait: (m) =>
        json
          ? io.stdout.write(JSON.stringify({ type: 'waiting', message: m }) + '\n')
          : io.stderr.write(`strata gc: ${m}\n`),
    });
    for (const what of report.notRemoved) io.stderr.write(`strata gc: warning: could not remove ${what}\n`);
    if (report.notRemoved.length)
      io.stderr.write(
        'strata gc: files of other ids (a subuid range) are removed through `unshare --map-auto` (util-linux) and newuidmap/newgidmap (package uidmap); check that both work\n',
      );
    if (json) io.stdout.write(JSON.stringify({ type: 'result', ...report }) + '\n');
    else {
      const verb = flags.has('--dry-run') ? 'would remove' : 'removed';
      io.stdout.write(
        `${verb} ${report.removedBlobs} blobs, ${report.removedTrees} layer trees, ${report.removedTemp} temp entries, ${report.removedCopyDigests} copy digests, ${report.removedLogs} build logs (${formatBytes(report.freedBytes)}); kept ${report.keptBlobs} blobs, ${report.keptTrees} layer trees\n`,
      );
    }
    return report.notRemoved.length ? 1 : 0;
  },
};
