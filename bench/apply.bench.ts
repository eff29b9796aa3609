// Unpacking a real layer (Debian bookworm minbase, ~46 MB gzipped, ~116 MB in ~5,200 files):
// the engine's path (readLayer: gunzip + tar-stream + digests in Node, then strata-box apply)
// beside GNU `tar -xzf` and `umoci unpack`, as root and rootless, measured in one run.
// Goal: strata within 1.2x of `tar -xzf` (which checks nothing and resolves nothing inside the
// root) and faster than umoci unpack (the peer that does resolve in the root).
// Usage: npm run bench -- apply   (BENCH_RUNS=N to change the 3 runs per row; about a minute on a quiet
// 2-core machine, up to 6 under a load average of 15)
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readLayer } from '../server/src/engine/layer/read';
import { applyEntries } from '../server/src/engine/sandbox/apply';
import {
  baseImageCache,
  hasCommand,
  isRoot,
  makeTempDir,
  removeTree,
  repoRoot,
  seedBaseImages,
  SINGLE_ID_USER,
  startRegistry,
  uidOf,
} from '../test/support';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** Empties the disk's queues so one run's deletions do not slow the next (the disk uses discard). */
function settle(): void {
  execFileSync('sync');
  spawnSync('sleep', ['0.3']);
}

async function strataOnce(layer: string, out: string): Promise<number> {
  const t0 = process.hrtime.bigint();
  await applyEntries(
    out,
    readLayer(fs.createReadStream(layer, { highWaterMark: 1 << 20 }), {
      compression: 'gzip',
      where: 'bench',
    }),
  );
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

/** Worker mode: measure strata in this process (as whichever user runs it), print JSON times. */
async function worker(layer: string, scratch: string, runs: number): Promise<void> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const out = path.join(scratch, `strata-${i}`);
    fs.mkdirSync(out);
    settle();
    times.push(await strataOnce(layer, out));
    removeTree(out);
  }
  console.log(JSON.stringify(times));
}

function timeCommand(argv: string[], user?: string): number {
  const [cmd, ...args] = user ? ['runuser', '-u', user, '--', ...argv] : argv;
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, USER: user ?? 'root' },
  });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${argv.join(' ')} failed (${r.status}): ${r.stderr.toString()}`);
  return ms;
}

function measureCommand(
  scratch: string,
  name: string,
  argv: (out: string) => string[],
  user?: string,
): number[] {
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const out = path.join(scratch, `${name}-${i}`);
    if (!argv(out).includes('unpack')) fs.mkdirSync(out);
    if (user) execFileSync('chown', ['-R', user, scratch]);
    settle();
    times.push(timeCommand(argv(out), user));
    removeTree(out);
  }
  return times;
}

async function debianTar(): Promise<string> {
  const cached = path.join(baseImageCache(), 'bookworm.tar');
  if (!fs.existsSync(cached)) {
    console.log('building the Debian minbase rootfs once (about a minute)...');
    const reg = await startRegistry();
    try {
      await seedBaseImages(reg.host, { debian: true });
    } finally {
      await reg.stop();
    }
  }
  return cached;
}

async function main(): Promise<void> {
  if (process.argv[2] === '--worker')
    return worker(process.argv[3], process.argv[4], Number(process.argv[5]));
  for (const c of ['tar', 'pigz', 'umoci'])
    if (!hasCommand(c)) throw new Error(`bench needs '${c}' (.ci/apt-packages.txt)`);
  const tarFile = await debianTar();
  const work = makeTempDir('bench-apply');
  fs.chmodSync(work, 0o755);
  try {
    const layer = path.join(work, 'layer.tar.gz');
    execFileSync('sh', ['-c', `pigz -c ${JSON.stringify(tarFile)} > ${JSON.stringify(layer)}`]);
    const oci = path.join(work, 'oci');
    execFileSync('umoci', ['init', '--layout', oci]);
    execFileSync('umoci', ['new', '--image', `${oci}:b`]);
    execFileSync('umoci', ['raw', 'add-layer', '--image', `${oci}:b`, tarFile]);
    fs.chmodSync(path.join(work, 'layer.tar.gz'), 0o644);
    execFileSync('chmod', ['-R', 'a+rX', oci]);
    const size = (fs.statSync(layer).size / 1e6).toFixed(1);
    console.log(
      `layer: Debian bookworm minbase, ${size} MB gzipped, ${(fs.statSync(tarFile).size / 1e6).toFixed(0)} MB tar; ${RUNS} runs per row; ${os.cpus().length} CPUs`,
    );

    const rows: { who: string; tool: string; times: number[] }[] = [];
    const modes: { who: string; user?: string }[] = [{ who: isRoot() ? 'root' : 'user' }];
    if (isRoot()) modes.push({ who: 'rootless', user: SINGLE_ID_USER });
    for (const { who, user } of modes) {
      const scratch = path.join(work, `scratch-${who}`);
      fs.mkdirSync(scratch);
      if (user) execFileSync('chown', [String(uidOf(user)), scratch]);
      const tsx = path.join(repoRoot, 'node_modules', 'tsx', 'dist', 'cli.mjs');
      const argv = [process.execPath, tsx, __filename, '--worker', layer, scratch, String(RUNS)];
      const [cmd, ...args] = user ? ['runuser', '-u', user, '--', ...argv] : argv;
      const r = spawnSync(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'], cwd: repoRoot });
      if (r.status !== 0) throw new Error(`strata worker as ${who} failed`);
      rows.push({
        who,
        tool: 'strata (readLayer + strata-box apply)',
        times: JSON.parse(r.stdout.toString()) as number[],
      });
      rows.push({
        who,
        tool: 'tar -xzf (GNU tar)',
        times: measureCommand(scratch, 'tar', (o) => ['tar', '-xzf', layer, '-C', o], user),
      });
      rows.push({
        who,
        tool: `umoci unpack${user ? ' --rootless' : ''}`,
        times: measureCommand(
          scratch,
          'umoci',
          (o) => ['umoci', 'unpack', ...(user ? ['--rootless'] : []), '--image', `${oci}:b`, o],
          user,
        ),
      });
    }

    console.log('');
    console.log('| as | tool | median ms | min ms | ratio to tar -xzf |');
    console.log('| --- | --- | ---: | ---: | ---: |');
    for (const row of rows) {
      const tar = rows.find((r) => r.who === row.who && r.tool.startsWith('tar'))!;
      console.log(
        `| ${row.who} | ${row.tool} | ${median(row.times).toFixed(0)} | ${Math.min(...row.times).toFixed(0)} | ${(median(row.times) / median(tar.times)).toFixed(2)} |`,
      );
    }
    for (const who of new Set(rows.map((r) => r.who))) {
      const get = (p: string) => median(rows.find((r) => r.who === who && r.tool.startsWith(p))!.times);
      const vsTar = get('strata') / get('tar');
      const vsUmoci = get('strata') / get('umoci');
      console.log(
        `goal (${who}): strata <= 1.2x tar -xzf: ${vsTar.toFixed(2)}x ${vsTar <= 1.2 ? 'met' : 'NOT met'}; ` +
          `faster than umoci unpack: ${vsUmoci.toFixed(2)}x ${vsUmoci < 1 ? 'met' : 'NOT met'}`,
      );
    }
  } finally {
    removeTree(work);
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : String(e));
  process.exit(1);
});
