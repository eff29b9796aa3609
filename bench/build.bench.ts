// Build and run speed beside the peer tools, in one run (issue 5 §7):
//   1. no-change rebuild of a 10-step spec  vs  `buildah bud --layers` on the equivalent Containerfile
//   2. rebuild after editing the last step  vs  the step's own run time (and buildah doing the same)
//   3. `strata run` of a built environment to exit  vs  `podman run --runtime runc`
// Goals: (1) <= 0.3 s and <= 0.2x buildah; (2) <= own run time + 0.5 s; (3) <= 0.3x podman.
// Strata is run as a user runs it: bin/strata, whose native front end (native/front/) replays a
// cached build or run from the plan Node left, and hands everything else to Node. The Node path
// of the same commands (node out/cli.js) is measured beside it, for comparison.
// Everything runs against a local registry seeded with busybox; stores are temporary.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  cliBundle,
  repoRoot,
  hasCommand,
  isRoot,
  makeTempDir,
  removeTree,
  seedBaseImages,
  startRegistry,
} from '../test/support';

const RUNS = Number(process.env.BENCH_RUNS ?? 7);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

interface Sample {
  wallMs: number;
  /** user + system CPU of the command and the children it waited for (GNU time). */
  cpuMs: number;
}

// The machine is shared: CPU time is reported beside wall time, as it suffers less from the load.
function timeIt(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv }): Sample {
  const out = path.join(os.tmpdir(), `strata-bench-time-${process.pid}`);
  const t0 = process.hrtime.bigint();
  const r = spawnSync('/usr/bin/time', ['-f', '%U %S', '-o', out, cmd, ...args], {
    cwd: opts.cwd,
    env: opts.env,
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: 64 << 20,
  });
  const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0)
    throw new Error(
      `${cmd} ${args.join(' ')} failed (${r.status}):\n${r.stderr.toString()}\n${r.stdout.toString().slice(-2000)}`,
    );
  const [user, sys] = fs.readFileSync(out, 'utf8').trim().split('\n').pop()!.split(' ').map(Number);
  fs.rmSync(out, { force: true });
  return { wallMs, cpuMs: (user + sys) * 1000 };
}

/**
 * CPU per call of a command too quick for GNU time's 10 ms clock-tick resolution: `n` calls in one
 * sh loop, timed together, divided by n (the loop's own cost is a few shell builtins).
 */
function cpuPerCall(
  cmd: string,
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv },
  n = 40,
): number {
  const loop = `i=0; while [ $i -lt ${n} ]; do "$0" "$@" >/dev/null 2>&1 || exit 1; i=$((i+1)); done`;
  return timeIt('sh', ['-c', loop, cmd, ...args], opts).cpuMs / n;
}

function measure(n: number, f: (i: number) => Sample): Sample[] {
  const out: Sample[] = [];
  for (let i = 0; i < n; i++) out.push(f(i));
  return out;
}

const STEPS = 10;
function specText(lastStep: string): string {
  const steps = Array.from(
    { length: STEPS - 1 },
    (_, i) => `  - run: echo step ${i + 1} > /step-${i + 1}.txt`,
  );
  return `strata: 1\nname: bench10\nfrom: docker.io/library/busybox:1.35\nsteps:\n${steps.join('\n')}\n  - run: ${lastStep}\nworkloads:\n  nothing:\n    command: ["true"]\n`;
}
function containerfile(registry: string, lastStep: string): string {
  const steps = Array.from({ length: STEPS - 1 }, (_, i) => `RUN echo step ${i + 1} > /step-${i + 1}.txt`);
  return `FROM ${registry}/library/busybox:1.35\n${steps.join('\n')}\nRUN ${lastStep}\n`;
}
const LAST = (v: number) => `sleep 0.2; echo version ${v} > /last.txt`;

interface Row {
  what: string;
  strata: number;
  strataCpu: number;
  peer?: number;
  peerCpu?: number;
  peerName?: string;
  goal: string;
  met: boolean;
}

async function main(): Promise<void> {
  const reg = await startRegistry();
  const work = makeTempDir('bench-build');
  const rows: Row[] = [];
  try {
    await seedBaseImages(reg.host, { debian: false });
    const home = path.join(work, 'home');
    const ws = path.join(work, 'ws');
    fs.mkdirSync(ws);
    const env = {
      ...process.env,
      STRATA_HOME: home,
      STRATA_REGISTRY_MIRRORS: `docker.io=http://${reg.host}`,
      NO_COLOR: '1',
    };
    const launcher = path.join(repoRoot, 'bin', 'strata');
    const strata = (args: string[]) => timeIt(launcher, args, { cwd: ws, env });
    const strataNode = (args: string[]) => timeIt(process.execPath, [cliBundle, ...args], { cwd: ws, env });
    // A plan is written only when no input changed within 50 ms of the build reading it.
    const settle = () => new Promise((r) => setTimeout(r, 200));
    /** Which path bin/strata takes for these args now (STRATA_TRACE=1 says it on stderr). */
    const pathTaken = (args: string[]) =>
      /cached plan/.test(
        spawnSync(launcher, args, {
          cwd: ws,
          env: { ...env, STRATA_TRACE: '1' },
          stdio: 'pipe',
        }).stderr.toString(),
      )
        ? 'native fast path'
        : 'Node';

    // 1. no-change rebuild
    fs.writeFileSync(path.join(ws, 'strata.yaml'), specText(LAST(0)));
    strata(['build']);
    await settle();
    strata(['build']); // through Node once more: this one leaves the plan
    const noChangePath = pathTaken(['build']);
    const noChange = measure(RUNS, () => strata(['build']));
    const noChangeCpu = cpuPerCall(launcher, ['build'], { cwd: ws, env });
    const noChangeNode = measure(RUNS, () => strataNode(['build']));

    // 2. edit the last step, alternating two versions so that each build really runs it
    let v = 1;
    const lastStep = measure(RUNS, () => {
      fs.writeFileSync(path.join(ws, 'strata.yaml'), specText(LAST(v++)));
      return strata(['build']);
    });
    // The step's own run time: the same command in the same image, started by strata-box.
    // (Through Node, as this row was measured before the fast path existed: the replayed run would
    // make the baseline ~60 ms smaller and the goal stricter than the issue states it.)
    const own = measure(RUNS, () => strataNode(['run', '--', 'sh', '-c', LAST(99)]));

    // 3. strata run of a built environment to exit
    await settle();
    strata(['run', 'nothing']); // through Node: leaves the plan
    const runPath = pathTaken(['run', 'nothing']);
    const runs = measure(RUNS, () => strata(['run', 'nothing']));
    const runsCpu = cpuPerCall(launcher, ['run', 'nothing'], { cwd: ws, env });
    const runsNode = measure(RUNS, () => strataNode(['run', 'nothing']));

    // Peers
    let buildahNoChange: Sample[] | undefined;
    let buildahLast: Sample[] | undefined;
    if (hasCommand('buildah')) {
      const broot = path.join(work, 'buildah');
      fs.mkdirSync(broot);
      const ctx = path.join(work, 'ctx');
      fs.mkdirSync(ctx);
      const bargs = (file: string) => [
        '--root',
        path.join(broot, 'root'),
        '--runroot',
        path.join(broot, 'runroot'),
        '--storage-driver',
        'overlay',
        'bud',
        '--layers',
        '--tls-verify=false',
        '--runtime',
        '/usr/sbin/runc',
        '--isolation',
        isRoot() ? 'oci' : 'rootless',
        '-f',
        file,
        '-t',
        'bench10',
        ctx,
      ];
      const cf = path.join(ctx, 'Containerfile');
      fs.writeFileSync(cf, containerfile(reg.host, LAST(0)));
      timeIt('buildah', bargs(cf), {});
      buildahNoChange = measure(RUNS, () => timeIt('buildah', bargs(cf), {}));
      let bv = 1;
      buildahLast = measure(RUNS, () => {
        fs.writeFileSync(cf, containerfile(reg.host, LAST(bv++)));
        return timeIt('buildah', bargs(cf), {});
      });
    }
    let podmanRun: Sample[] | undefined;
    if (hasCommand('podman')) {
      const proot = path.join(work, 'podman');
      const common = [
        '--root',
        path.join(proot, 'root'),
        '--runroot',
        path.join(proot, 'runroot'),
        '--cgroup-manager',
        'cgroupfs',
        '--events-backend',
        'file',
      ];
      const image = `${reg.host}/library/busybox:1.35`;
      timeIt('podman', [...common, 'pull', '--tls-verify=false', image], {});
      const limits = isRoot() ? ['--ulimit', 'nofile=1024:1024', '--ulimit', 'nproc=1024:1024'] : [];
      const runArgs = [
        ...common,
        'run',
        '--rm',
        '--runtime',
        'runc',
        '--network',
        'none',
        ...limits,
        image,
        'true',
      ];
      timeIt('podman', runArgs, {});
      podmanRun = measure(RUNS, () => timeIt('podman', runArgs, {}));
    }

    const m = (xs: Sample[]) => median(xs.map((x) => x.wallMs));
    const c = (xs: Sample[]) => median(xs.map((x) => x.cpuMs));
    rows.push({
      what: `no-change rebuild, 10 steps (${noChangePath})`,
      strata: m(noChange),
      strataCpu: noChangeCpu,
      ...(buildahNoChange
        ? { peer: m(buildahNoChange), peerCpu: c(buildahNoChange), peerName: 'buildah bud --layers' }
        : {}),
      goal: '<= 300 ms and <= 0.2x buildah',
      met: m(noChange) <= 300 && (!buildahNoChange || m(noChange) <= 0.2 * m(buildahNoChange)),
    });
    rows.push({
      what: 'no-change rebuild, 10 steps (Node: node out/cli.js)',
      strata: m(noChangeNode),
      strataCpu: c(noChangeNode),
      ...(buildahNoChange
        ? { peer: m(buildahNoChange), peerCpu: c(buildahNoChange), peerName: 'buildah bud --layers' }
        : {}),
      goal: '(for comparison)',
      met: true,
    });
    rows.push({
      what: 'rebuild after editing the last step',
      strata: m(lastStep),
      strataCpu: c(lastStep),
      peer: m(own),
      peerCpu: c(own),
      peerName: 'the step run alone (strata run)',
      goal: '<= own run time + 500 ms',
      met: m(lastStep) <= m(own) + 500,
    });
    if (buildahLast)
      rows.push({
        what: 'rebuild after editing the last step',
        strata: m(lastStep),
        strataCpu: c(lastStep),
        peer: m(buildahLast),
        peerCpu: c(buildahLast),
        peerName: 'buildah bud --layers',
        goal: '(for comparison)',
        met: true,
      });
    rows.push({
      what: `run a built environment to exit (${runPath})`,
      strata: m(runs),
      strataCpu: runsCpu,
      ...(podmanRun
        ? { peer: m(podmanRun), peerCpu: c(podmanRun), peerName: 'podman run --runtime runc' }
        : {}),
      goal: '<= 0.3x podman',
      met: !podmanRun || m(runs) <= 0.3 * m(podmanRun),
    });
    rows.push({
      what: 'run a built environment to exit (Node: node out/cli.js)',
      strata: m(runsNode),
      strataCpu: c(runsNode),
      ...(podmanRun
        ? { peer: m(podmanRun), peerCpu: c(podmanRun), peerName: 'podman run --runtime runc' }
        : {}),
      goal: '(for comparison)',
      met: true,
    });
  } finally {
    await reg.stop();
    removeTree(work);
  }
  console.log(
    `\nbuild and run (${isRoot() ? 'root' : 'rootless'}), medians of ${RUNS} runs; load average ${os.loadavg()[0].toFixed(1)} on ${os.availableParallelism()} CPUs`,
  );
  console.log(`| what | strata wall | strata CPU | peer | peer wall | peer CPU | wall ratio | goal | met |`);
  console.log(`| --- | ---: | ---: | --- | ---: | ---: | ---: | --- | --- |`);
  for (const r of rows) {
    const ratio = r.peer ? (r.strata / r.peer).toFixed(2) : '-';
    const ms = (x?: number) => (x === undefined ? '-' : `${x.toFixed(x < 10 ? 1 : 0)} ms`);
    console.log(
      `| ${r.what} | ${ms(r.strata)} | ${ms(r.strataCpu)} | ${r.peerName ?? '-'} | ${ms(r.peer)} | ${ms(r.peerCpu)} | ${ratio} | ${r.goal} | ${r.met ? 'yes' : 'NO'} |`,
    );
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : String(e));
  process.exit(1);
});
