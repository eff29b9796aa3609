// `npm run bench -- native`: start-to-exit of /bin/true in a busybox rootfs with the full namespace
// set, strata-box beside bwrap, crun, runc, ch-run and podman, as root and rootless, measured by
// interleaved rounds in one run; the overlay root against the plain one; and a CPU-bound workload inside
// against the same on the host. Prints medians, ratios and the goals of issue 3.
//   goals: strata-box / bwrap <= 1.0 and strata-box / crun <= 0.4 (root and rootless);
//          overlay - plain <= 2 ms; CPU-bound inside / host <= 1.01
// Tool quirks on this machine (see ../shared/README.md): crun refuses hybrid cgroups, so it runs
// in a private mount namespace without /sys/fs/cgroup/unified (rootless: under `unshare -Urm` with
// a tmpfs over it); podman needs --runtime runc --cgroup-manager cgroupfs --events-backend file and,
// as root, lower ulimits; runc's rootless spec gets the network and cgroup namespaces added back.
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const repo = path.resolve(__dirname, '..');
const strataBox = process.env.STRATA_BOX ?? path.join(repo, 'native', 'build', 'strata-box');
// 150 rounds: a round of all tools takes ~0.1 s, and under load the medians of 40 still moved by ±1 ms.
const RUNS = Number(process.env.BENCH_RUNS ?? 150);
const PODMAN_RUNS = Number(process.env.BENCH_PODMAN_RUNS ?? 8);
const CPU_RUNS = Number(process.env.BENCH_CPU_RUNS ?? 21);
const WARMUP = 2;
const ROOTLESS_USER = 'strata-test';
const isRoot = process.getuid?.() === 0;

interface Measured {
  name: string;
  medianMs: number;
  cpuMs: number; // median user + system time of the command and everything it waited for
  cpuSamples?: number[]; // every round's, in round order (with `samples`)
}

function have(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

function uidOf(user: string): number {
  return Number(execFileSync('id', ['-u', user]).toString().trim());
}

/** A busybox root file system like the test image: static busybox, applets, passwd, group. */
function makeRootfs(dir: string): void {
  for (const d of ['bin', 'etc', 'tmp', 'proc', 'sys', 'dev', 'root', 'usr'])
    fs.mkdirSync(path.join(dir, d), { recursive: true });
  fs.copyFileSync('/bin/busybox', path.join(dir, 'bin', 'busybox'));
  fs.chmodSync(path.join(dir, 'bin', 'busybox'), 0o755);
  for (const a of execFileSync('/bin/busybox', ['--list']).toString().split('\n'))
    if (a && a !== 'busybox') fs.symlinkSync('busybox', path.join(dir, 'bin', a));
  fs.symlinkSync('bin', path.join(dir, 'sbin'));
  fs.symlinkSync('../bin', path.join(dir, 'usr', 'bin'));
  fs.chmodSync(path.join(dir, 'tmp'), 0o1777);
  fs.writeFileSync(path.join(dir, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
  fs.writeFileSync(path.join(dir, 'etc', 'group'), 'root:x:0:\n');
}

/** An OCI bundle running /bin/true with pid, ipc, uts, mount, network, cgroup (and user) namespaces. */
function makeBundle(dir: string, rootfs: string, rootless: boolean, hostId: number): string {
  fs.mkdirSync(dir, { recursive: true });
  execFileSync('runc', ['spec', ...(rootless ? ['--rootless'] : []), '--bundle', dir]);
  const file = path.join(dir, 'config.json');
  const c = JSON.parse(fs.readFileSync(file, 'utf8')) as {
    root: { path: string; readonly?: boolean };
    process: { terminal: boolean; args: string[] };
    linux: {
      namespaces: { type: string }[];
      uidMappings?: { containerID: number; hostID: number; size: number }[];
      gidMappings?: { containerID: number; hostID: number; size: number }[];
    };
  };
  c.root.path = rootfs;
  c.process.terminal = false;
  c.process.args = ['/bin/true'];
  for (const t of ['pid', 'ipc', 'uts', 'mount', 'network', 'cgroup'])
    if (!c.linux.namespaces.some((n) => n.type === t)) c.linux.namespaces.push({ type: t });
  if (rootless) {
    c.linux.uidMappings = [{ containerID: 0, hostID: hostId, size: 1 }];
    c.linux.gidMappings = [{ containerID: 0, hostID: hostId, size: 1 }];
  }
  fs.writeFileSync(file, JSON.stringify(c));
  return dir;
}

interface Job {
  commands: [string, string[]][];
  rounds: number;
  samples?: boolean;
}

// The timer: native/tests/timeit.py runs the rounds itself (interleaved: every round runs each
// command once, in a shuffled order, so load from elsewhere on this shared machine hits every tool
// alike) and times each run around posix_spawn and wait4, which also gives its CPU time to the
// microsecond (Node's spawnSync gives no rusage, and /proc's child times count in 10 ms ticks).
const timer = path.join(repo, 'native', 'tests', 'timeit.py');

/**
 * Times each command `rounds` times; `{round}` in an argument becomes the round's number (for
 * per-run directories). Runs as `user`, and inside a `wrap` such as a private mount namespace,
 * when given; the wrapper's own start-up is not counted (the timer runs inside it).
 */
function measure(job: Job, options: { user?: string; wrap?: string[] } = {}): Measured[] {
  let argv = [...(options.wrap ?? []), 'python3', timer, JSON.stringify({ ...job, warmup: WARMUP })];
  if (options.user)
    argv = [
      'runuser',
      '-u',
      options.user,
      '--',
      'env',
      `USER=${options.user}`,
      `HOME=/home/${options.user}`,
      ...argv,
    ];
  else argv = ['env', `USER=${process.env.USER ?? os.userInfo().username}`, ...argv];
  const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.stderr.trim()) console.log(r.stderr.trim().replace(/^/gm, '  '));
  const last = r.stdout.trim().split('\n').pop() ?? '';
  if (r.status !== 0 || !last.startsWith('[')) {
    console.log(
      `  (failed: ${job.commands.map((c) => c[0]).join(', ')}: ${(r.stderr || r.stdout).trim().slice(-600)})`,
    );
    return [];
  }
  return JSON.parse(last) as Measured[];
}

interface ModeResult {
  startup: Map<string, number>;
  cpu: Map<string, number>;
  plainBesideOverlay?: number; // the plain root's median in the overlay's own pass
  cpuHost?: Measured;
  cpuInside?: Measured;
  cpuRatio?: number; // the loop's own CPU time inside ÷ on the host (see measureMode)
}

const shmDirs: string[] = [];
// strata-box's PATH inside when none is given (native/src/init.c).
const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
// Rootless, crun runs in a pass of its own (see measureMode); these run beside it there.
const IN_CRUN_PASS = "strata-box, in crun's pass";
const FLOOR_IN_CRUN_PASS = "kernel floor, in crun's pass";

function measureMode(work: string, rootless: boolean): ModeResult {
  const user = rootless ? ROOTLESS_USER : undefined;
  const id = rootless ? uidOf(ROOTLESS_USER) : 0;
  const base = path.join(work, rootless ? 'rootless' : 'root');
  const rootfs = path.join(base, 'rootfs');
  makeRootfs(rootfs);
  for (const d of ['upper', 'work', 'runc', 'crun', 'tmp'])
    fs.mkdirSync(path.join(base, d), { recursive: true });
  // A fresh upper and work dir for every overlay run, as the engine gives each build step: reusing
  // one work dir makes overlayfs delete and remake work/work at every mount, and on this disk
  // (ext4 mounted with `discard`) freeing that directory's block waits for a synchronous discard.
  // The same on a tmpfs (/dev/shm), where making files costs no disk allocation: what is left is
  // strata-box's and overlayfs's own work.
  const shm = fs.existsSync('/dev/shm') ? fs.mkdtempSync('/dev/shm/strata-bench-') : undefined;
  if (shm) shmDirs.push(shm);
  for (let round = 0; round < RUNS + WARMUP; round++)
    for (const d of ['upper', 'work']) {
      fs.mkdirSync(path.join(base, 'ov', String(round), d), { recursive: true });
      if (shm) fs.mkdirSync(path.join(shm, String(round), d), { recursive: true });
    }
  if (shm && rootless) execFileSync('chown', ['-R', `${id}:${id}`, shm]);
  const runcBundle = makeBundle(path.join(base, 'bundle-runc'), rootfs, rootless, id);
  // crun runs inside `unshare -Urm` rootless, where the invoking user is already 0.
  const crunBundle = makeBundle(path.join(base, 'bundle-crun'), rootfs, rootless, 0);
  if (rootless) execFileSync('chown', ['-R', `${id}:${id}`, base]);

  // A copy of strata-box owned by the caller, as a user's own install is (npm, the extension): the
  // container could write it, so strata-box guards the workload's exec (CVE-2019-5736). As root the
  // repository's binary is already such a file; rootless it belongs to root and needs no guard.
  const ownBinary = path.join(base, 'strata-box');
  fs.copyFileSync(strataBox, ownBinary);
  fs.chmodSync(ownBinary, 0o755);
  if (rootless) fs.chownSync(ownBinary, id, id);
  const plain: [string, string[]] = ['strata-box', [strataBox, 'run', '--rootfs', rootfs, '--', '/bin/true']];
  const overlay: [string, string[]] = [
    'strata-box overlay',
    [
      strataBox,
      'run',
      '--lower',
      rootfs,
      '--upper',
      `${base}/ov/{round}/upper`,
      '--work',
      `${base}/ov/{round}/work`,
    ].concat(['--', '/bin/true']),
  ];
  const cmds: [string, string[]][] = [
    plain,
    ['strata-box, own binary', [ownBinary, 'run', '--rootfs', rootfs, '--', '/bin/true']],
  ];
  // The kernel's floor for this work (native/tests/ns-floor.c): the same namespaces, a bind of the
  // root, /proc, pivot_root and exec, nothing else. Linked like strata-box (static musl where
  // musl-gcc exists, see native/Makefile): glibc's start-up alone costs 0.7 ms on this VM, which a
  // floor must not carry when strata-box does not.
  const floor = path.join(base, 'ns-floor');
  const floorCc = have('musl-gcc') ? ['musl-gcc', '-static'] : have('cc') ? ['cc'] : undefined;
  if (floorCc) {
    execFileSync(floorCc[0], [
      ...floorCc.slice(1),
      '-O2',
      '-o',
      floor,
      path.join(repo, 'native', 'tests', 'ns-floor.c'),
    ]);
    cmds.push(['kernel floor', [floor, rootfs, '/bin/true']]);
  }
  if (have('bwrap'))
    cmds.push([
      'bwrap',
      ['bwrap', '--unshare-all', '--die-with-parent', '--uid', '0', '--gid', '0', '--hostname', 'box'].concat(
        ['--bind', rootfs, '/', '--proc', '/proc', '--dev', '/dev', '/bin/true'],
      ),
    ]);
  if (have('runc'))
    cmds.push(['runc', ['runc', '--root', `${base}/runc`, 'run', '-b', runcBundle, `r${process.pid}`]]);
  if (have('ch-run')) cmds.push(['ch-run', ['ch-run', rootfs, '--', '/bin/true']]);
  const crun: [string, string[]] = [
    'crun',
    [
      'crun',
      '--root',
      `${base}/crun`,
      '--cgroup-manager=disabled',
      'run',
      '-b',
      crunBundle,
      `c${process.pid}`,
    ],
  ];
  // As root, every tool is timed in the private mount namespace crun needs (unmounting the
  // cgroup2 hierarchy there changes nothing for the others). Rootless, crun needs `unshare -Urm`,
  // which would make the others root in a user namespace, so it is timed on its own.
  const rootWrap = [
    'unshare',
    '-m',
    '--propagation',
    'private',
    'sh',
    '-c',
    'umount /sys/fs/cgroup/unified && exec "$@"',
    'sh',
  ];
  const userWrap = [
    'unshare',
    '-Urm',
    'sh',
    '-c',
    'mount -t tmpfs none /sys/fs/cgroup/unified && exec "$@"',
    'sh',
  ];
  const startup = new Map<string, number>();
  const cpuOf = new Map<string, number>();
  const record = (ms: Measured[]) => {
    for (const m of ms) {
      startup.set(m.name, m.medianMs);
      cpuOf.set(m.name, m.cpuMs);
    }
  };
  // The overlay against the plain root first, in a pass of their own: the overlay's mount makes
  // and deletes a few files in the work dir, and on this machine's ext4 (no journal) allocating an
  // inode skips every inode deleted in the last 30 s nearby (`recently_deleted`), which runc's and
  // crun's per-run state files would otherwise multiply. The goal compares these two medians.
  const overlayTmpfs: [string, string[]] = [
    'strata-box overlay on tmpfs',
    [
      strataBox,
      'run',
      '--lower',
      rootfs,
      '--upper',
      `${shm}/{round}/upper`,
      '--work',
      `${shm}/{round}/work`,
    ].concat(['--', '/bin/true']),
  ];
  const overlayPass = measure(
    { commands: shm ? [plain, overlay, overlayTmpfs] : [plain, overlay], rounds: RUNS },
    { user },
  );
  record(overlayPass.filter((m) => m.name !== 'strata-box'));
  const plainBesideOverlay = overlayPass.find((m) => m.name === 'strata-box')?.medianMs;
  const crunTogether = have('crun') && !rootless;
  const together = measure(
    { commands: crunTogether ? [...cmds, crun] : cmds, rounds: RUNS },
    { user, wrap: crunTogether ? rootWrap : undefined },
  );
  record(together);
  if (have('crun') && rootless) {
    // The machine's speed drifts between passes (a shared VM: the same floor took 2.7 ms in one
    // pass and 3.5 ms in the next), so strata-box and the floor run again in crun's own pass, in
    // the same wrapper, and the goal compares runs of one moment.
    const beside: [string, string[]][] = [[IN_CRUN_PASS, plain[1]]];
    if (floorCc) beside.push([FLOOR_IN_CRUN_PASS, [floor, rootfs, '/bin/true']]);
    record(measure({ commands: [crun, ...beside], rounds: RUNS }, { user, wrap: userWrap }));
  }
  if (have('podman')) {
    // podman keeps its storage, run state and (rootless) pause process under base/podman, not in
    // the machine's or the user's default places; the pause process is stopped afterwards.
    // A short path: podman refuses a runroot longer than 50 characters.
    const pd = fs.mkdtempSync('/tmp/sbp-');
    for (const d of ['root', 'run', 'xdg', 'config', 'data'])
      fs.mkdirSync(path.join(pd, d), { recursive: true, mode: 0o700 });
    if (rootless) execFileSync('chown', ['-R', `${id}:${id}`, pd]);
    const env = {
      XDG_RUNTIME_DIR: `${pd}/xdg`,
      XDG_CONFIG_HOME: `${pd}/config`,
      XDG_DATA_HOME: `${pd}/data`,
    };
    const podman = ['env', ...Object.entries(env).map(([k, v]) => `${k}=${v}`), 'podman']
      .concat(['--root', `${pd}/root`, '--runroot', `${pd}/run`, '--tmpdir', `${pd}/run/tmp`])
      .concat(['--runtime', 'runc', '--cgroup-manager', 'cgroupfs', '--events-backend', 'file'])
      .concat(['run', '--rm', '--network', 'none'])
      .concat(rootless ? [] : ['--ulimit', 'nofile=1024:1024', '--ulimit', 'nproc=1024:1024'])
      .concat(['--rootfs', rootfs, '/bin/true']);
    record(measure({ commands: [['podman', podman]], rounds: PODMAN_RUNS }, { user }));
    for (const f of [`${pd}/xdg/libpod/tmp/pause.pid`, `${pd}/run/tmp/pause.pid`]) {
      const pid = fs.existsSync(f) ? Number(fs.readFileSync(f, 'utf8').trim()) : 0;
      if (pid > 1) spawnSync('kill', [String(pid)]);
    }
    spawnSync('rm', ['-rf', pd]);
  }

  // CPU-bound: the same busybox shell loop (about 0.6 s) on the host and in a container, each also
  // with `true` instead of the loop, so the fixed cost of starting (3-4 ms of CPU for a container,
  // the startup goal's subject) is taken out: what is compared is the loop's own CPU time.
  const loop = 'i=0; while [ $i -lt 400000 ]; do i=$((i+1)); done';
  // The same environment as inside (strata-box passes only PATH): the shell's variable lookups
  // slow down with the hundred-odd npm_* variables `npm run` adds (3-8 % here).
  const onHost = (script: string) => [
    'env',
    '-i',
    `PATH=${DEFAULT_PATH}`,
    `${rootfs}/bin/busybox`,
    'sh',
    '-c',
    script,
  ];
  const inBox = (script: string) => [strataBox, 'run', '--rootfs', rootfs, '--', '/bin/sh', '-c', script];
  const cpu = measure(
    {
      commands: [
        ['host', onHost(loop)],
        ['inside', inBox(loop)],
        ['host, true', onHost('true')],
        ['inside, true', inBox('true')],
      ],
      rounds: CPU_RUNS,
      samples: true,
    },
    { user },
  );
  // The least of each command's rounds: on this VM the noise only ever adds CPU time (another
  // guest's steal time is counted as ours, caches are flushed by other jobs), by up to 50 % in a
  // round and more than the 1 % in question in any median of a dozen, while the least run is the
  // closest to the work's own cost (as Python's timeit advises).
  const least = (n: string) => {
    const v = cpu.find((m) => m.name === n)?.cpuSamples;
    return v && v.length ? Math.min(...v) : undefined;
  };
  const [h, i, h0, i0] = ['host', 'inside', 'host, true', 'inside, true'].map(least);
  const cpuRatio =
    h !== undefined && i !== undefined && h0 !== undefined && i0 !== undefined
      ? (i - i0) / (h - h0)
      : undefined;
  const host = cpu.find((m) => m.name === 'host');
  const inside = cpu.find((m) => m.name === 'inside');
  return { startup, cpu: cpuOf, plainBesideOverlay, cpuHost: host, cpuInside: inside, cpuRatio };
}

function fmt(ms: number | undefined): string {
  return ms === undefined ? '—' : ms >= 100 ? ms.toFixed(0) : ms.toFixed(1);
}

function ratio(a: number | undefined, b: number | undefined): string {
  return a === undefined || b === undefined ? '—' : (a / b).toFixed(2);
}

function main(): void {
  if (!fs.existsSync(strataBox)) throw new Error(`${strataBox} is missing: run "npm run build"`);
  // Root podman makes /var/lib/containers (its blob-info cache) whatever --root says; remove it
  // again if this run made it.
  const podmanStateBefore = fs.existsSync('/var/lib/containers');
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-bench-native-'));
  fs.chmodSync(work, 0o755);
  try {
    const root = isRoot ? measureMode(work, false) : undefined;
    const rootless = isRoot ? measureMode(work, true) : measureMode(work, false);
    const tools = [
      'strata-box',
      'strata-box, own binary',
      'strata-box overlay',
      'strata-box overlay on tmpfs',
      'kernel floor',
      'bwrap',
      'ch-run',
      'crun',
      IN_CRUN_PASS,
      FLOOR_IN_CRUN_PASS,
      'runc',
      'podman',
    ];
    console.log(
      `\nstart-to-exit of /bin/true in a busybox rootfs (median of ${RUNS} runs; podman ${PODMAN_RUNS}), ms`,
    );
    console.log(
      '(strata-box, bwrap, crun, runc, podman: user, mount, pid, ipc, uts, net, cgroup namespaces; ch-run: user and mount only;\n' +
        ' kernel floor: native/tests/ns-floor.c, the same namespaces with only a root bind, /proc, pivot_root and exec)\n',
    );
    console.log(
      "(CPU: user + system of the command and all it waited for; podman's conmon is not counted)\n",
    );
    console.log('| tool | root | CPU | strata-box ÷ tool | rootless | CPU | strata-box ÷ tool |');
    console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
    for (const t of tools) {
      const r = root?.startup.get(t);
      const u = rootless.startup.get(t);
      console.log(
        `| ${t} | ${fmt(r)} | ${fmt(root?.cpu.get(t))} | ${ratio(root?.startup.get('strata-box'), r)} | ` +
          `${fmt(u)} | ${fmt(rootless.cpu.get(t))} | ${ratio(rootless.startup.get('strata-box'), u)} |`,
      );
    }
    const goals: [string, string, string, boolean | undefined][] = [];
    for (const [label, m] of [
      ['root', root],
      ['rootless', rootless],
    ] as const) {
      if (!m) continue;
      const sb = m.startup.get('strata-box');
      const bw = m.startup.get('bwrap');
      const cr = m.startup.get('crun');
      const ov = m.startup.get('strata-box overlay');
      goals.push([
        `${label}: strata-box ÷ bwrap`,
        ratio(sb, bw),
        '≤ 1.0',
        sb !== undefined && bw !== undefined ? sb / bw <= 1.0 : undefined,
      ]);
      goals.push([
        `${label}: strata-box ÷ bwrap, CPU time (${fmt(m.cpu.get('strata-box'))} / ${fmt(m.cpu.get('bwrap'))} ms)`,
        ratio(m.cpu.get('strata-box'), m.cpu.get('bwrap')),
        '(≤ 1.0)',
        undefined,
      ]);
      goals.push([
        `${label}: strata-box, own binary ÷ bwrap`,
        ratio(m.startup.get('strata-box, own binary'), bw),
        '≤ 1.0',
        m.startup.has('strata-box, own binary') && bw !== undefined
          ? m.startup.get('strata-box, own binary')! / bw <= 1.0
          : undefined,
      ]);
      const sbc = m.startup.get(IN_CRUN_PASS) ?? sb;
      goals.push([
        `${label}: strata-box ÷ crun${m.startup.has(IN_CRUN_PASS) ? ' (in the same pass)' : ''}`,
        ratio(sbc, cr),
        '≤ 0.4',
        sbc !== undefined && cr !== undefined ? sbc / cr <= 0.4 : undefined,
      ]);
      const mainFloor = m.startup.get('kernel floor');
      goals.push([
        `${label}: strata-box − kernel floor (all the floor leaves out: /dev, masks, init, hardening)`,
        sb !== undefined && mainFloor !== undefined ? `${(sb - mainFloor).toFixed(1)} ms` : '—',
        '(informational)',
        undefined,
      ]);
      const fl = m.startup.get(FLOOR_IN_CRUN_PASS) ?? mainFloor;
      goals.push([
        `${label}: 0.4 × crun against the kernel floor (${fmt(fl)} ms)`,
        cr !== undefined ? `${(0.4 * cr).toFixed(1)} ms` : '—',
        '(≥ floor to be reachable)',
        undefined,
      ]);
      const pl = m.plainBesideOverlay;
      goals.push([
        `${label}: overlay − plain (their own pass: ${fmt(ov)} / ${fmt(pl)} ms)`,
        ov !== undefined && pl !== undefined ? `${(ov - pl).toFixed(1)} ms` : '—',
        '≤ 2 ms',
        ov !== undefined && pl !== undefined ? ov - pl <= 2 : undefined,
      ]);
      const ot = m.startup.get('strata-box overlay on tmpfs');
      goals.push([
        `${label}: overlay on tmpfs − plain (no disk allocation)`,
        ot !== undefined && pl !== undefined ? `${(ot - pl).toFixed(1)} ms` : '—',
        '(≤ 2 ms)',
        undefined,
      ]);
      goals.push([
        // CPU time, not wall: on this shared machine the wall time of a 1 s loop varies by ±10 % with
        // the others' load, while the question is whether computing inside costs more.
        `${label}: CPU-bound inside ÷ host, least CPU time less the start's (medians ` +
          `${fmt(m.cpuInside?.cpuMs)} / ${fmt(m.cpuHost?.cpuMs)} ms; wall ${fmt(m.cpuInside?.medianMs)} / ` +
          `${fmt(m.cpuHost?.medianMs)} ms)`,
        m.cpuRatio === undefined ? '—' : m.cpuRatio.toFixed(3),
        '≤ 1.01',
        m.cpuRatio === undefined ? undefined : m.cpuRatio <= 1.01,
      ]);
    }
    console.log('\n| goal | measured | target | met |');
    console.log('| --- | ---: | ---: | --- |');
    for (const [g, v, t, ok] of goals)
      console.log(`| ${g} | ${v} | ${t} | ${ok === undefined ? '—' : ok ? 'yes' : 'NO'} |`);
    console.log('\n(2 shared cores: timings are noisy; rerun for a second sample.)');
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
    for (const d of shmDirs) fs.rmSync(d, { recursive: true, force: true });
    if (isRoot && !podmanStateBefore) fs.rmSync('/var/lib/containers', { recursive: true, force: true });
  }
}

main();
