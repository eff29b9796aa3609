// Pulling the Debian image from the local registry into a ready-to-run store, beside the peers
// (issue 4 §6), in one run:
//   1. download + verify:            strata pull --no-unpack    vs  skopeo copy docker://… oci:…
//      (strata also checks the diff_id, which needs a gunzip; skopeo checks the blob digest only)
//   2. the same work on both sides:  strata pull --no-unpack    vs  skopeo copy … && pigz -dc | sha256sum
//   3. download + verify + unpack:   strata pull                vs  skopeo copy … && umoci unpack
// Goal: ratio <= 1.0 against the peer for each row. Every run starts from an empty store or
// layout; the disk is synced and left to settle between runs (the disk here is mounted with
// `discard`, which slows writes right after large deletes).
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
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

/** CPU seconds (user + system) of the last timed command, from GNU time: the machine is shared,
 * so wall time carries other people's load; CPU time shows the work each tool does. */
let lastCpu = 0;
const cpuFile = path.join(os.tmpdir(), `strata-bench-cpu-${process.pid}`);

function timeIt(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync('/usr/bin/time', ['-f', '%U %S', '-o', cpuFile, cmd, ...args], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: 64 << 20,
  });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0)
    throw new Error(
      `${cmd} ${args.join(' ')} failed (${r.status}):\n${r.stderr.toString()}${r.stdout.toString().slice(-2000)}`,
    );
  const [user, sys] = fs.readFileSync(cpuFile, 'utf8').trim().split('\n').at(-1)!.split(' ').map(Number);
  lastCpu = (user ?? 0) + (sys ?? 0);
  return ms;
}

function largestFile(dir: string): string {
  const files = fs.readdirSync(dir).map((f) => path.join(dir, f));
  return files.reduce((a, b) => (fs.statSync(b).size > fs.statSync(a).size ? b : a));
}

function settle(): void {
  spawnSync('sync');
  spawnSync('sleep', ['1']);
}

interface Row {
  what: string;
  peerName: string;
  strata: number[];
  peer: number[];
  strataCpu: number[];
  peerCpu: number[];
}

function row(what: string, peerName: string): Row {
  return { what, peerName, strata: [], peer: [], strataCpu: [], peerCpu: [] };
}

async function main(): Promise<void> {
  for (const c of ['docker-registry', 'skopeo', 'umoci', 'mmdebstrap', 'pigz']) {
    if (!hasCommand(c)) throw new Error(`pull bench: '${c}' is missing (see .ci/apt-packages.txt)`);
  }
  const reg = await startRegistry();
  const work = makeTempDir('bench-pull');
  const download = row('download + verify (debian:bookworm, ~50 MB)', 'skopeo copy (no diff_id)');
  const sameWork = row('download + verify digest and diff_id', 'skopeo copy + pigz -dc | sha256sum');
  const full = row('download + verify + unpack (ready to run)', 'skopeo copy + umoci unpack');
  try {
    console.log('seeding debian:bookworm into a local registry (about a minute the first time)...');
    await seedBaseImages(reg.host, { debian: true });
    const ref = 'docker.io/library/debian:bookworm';
    const env = { ...process.env, STRATA_REGISTRY_MIRRORS: `docker.io=http://${reg.host}`, NO_COLOR: '1' };
    const strataPull = (r: Row, i: number, unpack: boolean) => {
      const home = path.join(work, `home-${unpack ? 'u' : 'd'}-${i}`);
      const args = [cliBundle, 'pull', ...(unpack ? [] : ['--no-unpack']), ref];
      r.strata.push(timeIt(process.execPath, args, { ...env, STRATA_HOME: home }));
      r.strataCpu.push(lastCpu);
      removeTree(home);
      settle();
    };
    const skopeoCopy = (dir: string) =>
      timeIt('skopeo', [
        'copy',
        '-q',
        '--src-tls-verify=false',
        `docker://${reg.host}/library/debian:bookworm`,
        `oci:${dir}:bookworm`,
      ]);
    for (let i = 0; i < RUNS; i++) {
      strataPull(download, i, false);
      const dir = path.join(work, `oci-${i}`);
      download.peer.push(skopeoCopy(dir));
      download.peerCpu.push(lastCpu);
      // The same image again, with the diff_id computed the fastest way a shell has.
      removeTree(dir);
      settle();
      const copied = skopeoCopy(dir);
      const copiedCpu = lastCpu;
      const layerBlob = largestFile(path.join(dir, 'blobs', 'sha256'));
      sameWork.peer.push(copied + timeIt('sh', ['-c', `pigz -dc '${layerBlob}' | sha256sum`]));
      sameWork.peerCpu.push(copiedCpu + lastCpu);
      sameWork.strata.push(download.strata.at(-1)!);
      sameWork.strataCpu.push(download.strataCpu.at(-1)!);
      removeTree(dir);
      settle();
      strataPull(full, i, true);
      const bundle = path.join(work, `bundle-${i}`);
      const copy = skopeoCopy(dir);
      const copyCpu = lastCpu;
      full.peer.push(copy + timeIt('umoci', ['unpack', '--image', `${dir}:bookworm`, bundle]));
      full.peerCpu.push(copyCpu + lastCpu);
      removeTree(dir);
      removeTree(bundle);
      settle();
      console.log(`run ${i + 1}/${RUNS} done`);
    }
  } finally {
    await reg.stop();
    removeTree(work);
    fs.rmSync(cpuFile, { force: true });
  }
  console.log(
    `\npull benchmark (${RUNS} runs each, medians; goal: wall-time ratio <= 1.0; CPU = user + system)`,
  );
  console.log(
    `${'operation'.padEnd(46)} ${'strata'.padStart(9)} ${'peer'.padStart(9)}  ratio  CPU strata  CPU peer  peer`,
  );
  for (const r of [download, sameWork, full]) {
    const s = median(r.strata) / 1000;
    const p = median(r.peer) / 1000;
    const ratio = s / p;
    console.log(
      `${r.what.padEnd(46)} ${s.toFixed(2).padStart(7)} s ${p.toFixed(2).padStart(7)} s  ${ratio.toFixed(2).padStart(5)}  ` +
        `${median(r.strataCpu).toFixed(2).padStart(8)} s ${median(r.peerCpu).toFixed(2).padStart(7)} s  ${r.peerName} ${ratio <= 1 ? '(goal met)' : '(goal NOT met)'}`,
    );
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
