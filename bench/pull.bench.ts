// Pulling the Debian image from the local registry into a ready-to-run store, beside the peers
// (issue 4 §6), in one run:
//   1. download + verify:            strata pull --no-unpack    vs  skopeo copy docker://… oci:…
//   2. download + verify + unpack:   strata pull                vs  skopeo copy … && umoci unpack
// Goal: ratio <= 1.0 against the peer for each row. Every run starts from an empty store or
// layout; the disk is synced and left to settle between runs (the disk here is mounted with
// `discard`, which slows writes right after large deletes).
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import {
  cliBundle,
  hasCommand,
  makeTempDir,
  removeTree,
  seedBaseImages,
  startRegistry,
} from '../test/support';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

function timeIt(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20 });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0)
    throw new Error(
      `${cmd} ${args.join(' ')} failed (${r.status}):\n${r.stderr.toString()}${r.stdout.toString().slice(-2000)}`,
    );
  return ms;
}

function settle(): void {
  spawnSync('sync');
  spawnSync('sleep', ['1']);
}

interface Row {
  what: string;
  strata: number[];
  peer: number[];
  peerName: string;
}

async function main(): Promise<void> {
  for (const c of ['docker-registry', 'skopeo', 'umoci', 'mmdebstrap']) {
    if (!hasCommand(c)) throw new Error(`pull bench: '${c}' is missing (see .ci/apt-packages.txt)`);
  }
  const reg = await startRegistry();
  const work = makeTempDir('bench-pull');
  const rows: Row[] = [];
  try {
    console.log('seeding debian:bookworm into a local registry (about a minute the first time)...');
    await seedBaseImages(reg.host, { debian: true });
    const ref = 'docker.io/library/debian:bookworm';
    const env = { ...process.env, STRATA_REGISTRY_MIRRORS: `docker.io=http://${reg.host}`, NO_COLOR: '1' };
    const strataPull = (i: number, unpack: boolean) => {
      const home = path.join(work, `home-${unpack ? 'u' : 'd'}-${i}`);
      const ms = timeIt(process.execPath, [cliBundle, 'pull', ...(unpack ? [] : ['--no-unpack']), ref], {
        ...env,
        STRATA_HOME: home,
      });
      removeTree(home);
      return ms;
    };
    const skopeoCopy = (dir: string) =>
      timeIt('skopeo', [
        'copy',
        '-q',
        '--src-tls-verify=false',
        `docker://${reg.host}/library/debian:bookworm`,
        `oci:${dir}:bookworm`,
      ]);

    const download: Row = {
      what: 'download + verify (debian:bookworm, ~50 MB)',
      strata: [],
      peer: [],
      peerName: 'skopeo copy',
    };
    const full: Row = {
      what: 'download + verify + unpack (ready to run)',
      strata: [],
      peer: [],
      peerName: 'skopeo copy + umoci unpack',
    };
    for (let i = 0; i < RUNS; i++) {
      download.strata.push(strataPull(i, false));
      settle();
      const dir = path.join(work, `oci-${i}`);
      download.peer.push(skopeoCopy(dir));
      removeTree(dir);
      settle();
      full.strata.push(strataPull(i, true));
      settle();
      const dir2 = path.join(work, `oci2-${i}`);
      const bundle = path.join(work, `bundle-${i}`);
      const t = skopeoCopy(dir2);
      full.peer.push(t + timeIt('umoci', ['unpack', '--image', `${dir2}:bookworm`, bundle]));
      removeTree(dir2);
      removeTree(bundle);
      settle();
      console.log(`run ${i + 1}/${RUNS} done`);
    }
    rows.push(download, full);
  } finally {
    await reg.stop();
    removeTree(work);
  }
  console.log(`\npull benchmark (${RUNS} runs each, median wall time; goal: ratio <= 1.0)`);
  console.log(
    `${'operation'.padEnd(46)} ${'strata'.padStart(9)} ${'peer'.padStart(9)}  ${'ratio'.padStart(6)}  peer`,
  );
  for (const r of rows) {
    const s = median(r.strata) / 1000;
    const p = median(r.peer) / 1000;
    const ratio = s / p;
    console.log(
      `${r.what.padEnd(46)} ${s.toFixed(2).padStart(7)} s ${p.toFixed(2).padStart(7)} s  ${ratio.toFixed(2).padStart(6)}  ${r.peerName} ${ratio <= 1 ? '(goal met)' : '(goal NOT met)'}`,
    );
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
