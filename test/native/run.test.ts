// `strata-box run` through the engine's wrapper (server/src/engine/sandbox/run.ts), in a real
// busybox image unpacked by umoci. The suite runs as root and again as the unprivileged test user
// (test/run-all.ts), so every assertion here holds for both.
import * as assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runInSandbox, startSandbox, type SandboxEvent, type SandboxRunOptions } from '../../server/src/engine/sandbox/run';
import { StrataError } from '../../server/src/engine/errors';
import {
  isRoot,
  makeTempDir,
  RANGE_USER,
  removeTree,
  requirePrerequisites,
  runAsUnprivileged,
  SINGLE_ID_USER,
  strataBox,
  uidOf,
} from '../support';
import { freshOverlay, imageRootfs, rootfsCopy } from './images';

function sh(script: string): string[] {
  return ['/bin/sh', '-c', script];
}

describe('strata-box run', function () {
  let busybox = '';
  before(async function () {
    requirePrerequisites(this, { commands: ['skopeo', 'umoci'], files: [strataBox] });
    busybox = await imageRootfs('library/busybox:latest');
  });

  async function box(command: string[], extra: Partial<SandboxRunOptions> = {}) {
    const events: SandboxEvent[] = [];
    const r = await runInSandbox({
      rootfs: busybox,
      command,
      onEvent: (e) => events.push(e),
      ...extra,
    });
    return { ...r, events };
  }

  describe('isolation', function () {
    it('runs the workload as pid 2 under its init, seeing only the container processes', async function () {
      const r = await box(sh('echo "self $$"; ps -o pid,comm'));
      assert.equal(r.exitCode, 0, r.stderr);
      assert.match(r.stdout, /^self 2$/m);
      const pids = r.stdout
        .split('\n')
        .slice(2)
        .map((l) => l.trim().split(/\s+/)[0])
        .filter(Boolean)
        .map(Number);
      // pid 1 (init), 2 (the shell), and ps itself: nothing of the host.
      assert.deepEqual(pids.slice(0, 2), [1, 2]);
      assert.ok(pids.length <= 3, r.stdout);
    });

    it('sets the host name and gives uid 0 inside', async function () {
      const r = await box(sh('hostname; id -u; id -g'), { hostname: 'inside-box' });
      assert.equal(r.stdout, 'inside-box\n0\n0\n');
    });

    it('has only loopback, up, with --net none, and the host network with --net host', async function () {
      const none = await box(sh('ls /sys/class/net; cat /sys/class/net/lo/operstate; cat /proc/net/dev | tail -n +3 | cut -d: -f1'));
      assert.equal(none.exitCode, 0, none.stderr);
      const lines = none.stdout.split('\n').map((l) => l.trim());
      assert.equal(lines[0], 'lo');
      assert.ok(['unknown', 'up'].includes(lines[1]), lines[1]);
      assert.deepEqual(lines.slice(2).filter(Boolean), ['lo']);
      const host = await box(sh('cat /proc/net/dev | tail -n +3 | cut -d: -f1; echo ---; cat /etc/resolv.conf'), {
        net: 'host',
      });
      const [ifaces, resolv] = host.stdout.split('---\n');
      if (fs.existsSync('/etc/resolv.conf')) assert.equal(resolv, fs.readFileSync('/etc/resolv.conf', 'utf8'));
      const hostIfaces = fs
        .readFileSync('/proc/net/dev', 'utf8')
        .split('\n')
        .slice(2)
        .map((l) => l.split(':')[0].trim())
        .filter(Boolean)
        .sort();
      assert.deepEqual(
        ifaces.split('\n').map((l) => l.trim()).filter(Boolean).sort(), hostIfaces);
    });

    it('shows no host path outside the binds', async function () {
      const dir = makeTempDir('bind');
      try {
        fs.writeFileSync(path.join(dir, 'hello'), 'from the host\n');
        const r = await box(sh('test -e /work && echo WORK; test -e /home && echo HOME; ls /; cat /data/hello'), {
          mounts: [{ type: 'ro-bind', src: dir, dest: '/data' }],
        });
        assert.equal(r.exitCode, 0, r.stderr);
        assert.doesNotMatch(r.stdout, /WORK|HOME/);
        assert.match(r.stdout, /from the host/);
        const top = new Set(fs.readdirSync(busybox));
        for (const name of r.stdout.split('\n').slice(0, -2)) {
          if (name && name !== 'data') assert.ok(top.has(name), `/${name} is not in the image`);
        }
      } finally {
        removeTree(dir);
      }
    });

    it('masks runc\'s masked paths and keeps /proc/sys, /sys and /proc/sysrq-trigger read-only', async function () {
      const r = await box(
        sh(
          'for f in /proc/kcore /proc/keys /proc/timer_list /proc/sched_debug /proc/latency_stats; do ' +
            '[ -e $f ] && echo "$f $(cat $f | wc -c)"; done; ' +
            'for d in /proc/acpi /proc/scsi /sys/firmware; do [ -d $d ] && echo "$d $(ls -A $d | wc -l)"; done; ' +
            'echo 1 > /proc/sys/kernel/ns_last_pid 2>/dev/null && echo WROTE-PROC-SYS; ' +
            'echo h > /proc/sysrq-trigger 2>/dev/null && echo WROTE-SYSRQ; ' +
            'touch /sys/kernel/x 2>/dev/null && echo WROTE-SYS; ' +
            'awk \'$5 == "/sys" { print "sys-options", $6 }\' /proc/self/mountinfo',
        ),
      );
      assert.equal(r.exitCode, 0, r.stderr);
      assert.doesNotMatch(r.stdout, /WROTE/);
      const masked = r.stdout.split('\n').filter((l) => l.startsWith('/'));
      assert.ok(masked.length >= 3, `expected some masked paths to exist: ${r.stdout}`);
      for (const line of masked) assert.match(line, / 0$/, `${line} should read as empty`);
      assert.match(r.stdout, /^sys-options ro,/m, '/sys is mounted read-only');
    });

    it('makes the root read-only with --read-only, leaving a --tmpfs writable', async function () {
      const r = await box(sh('touch /etc/x 2>/dev/null && echo WROTE; touch /scratch/ok && echo tmpfs-ok'), {
        readOnly: true,
        mounts: [{ type: 'tmpfs', dest: '/scratch' }],
      });
      assert.equal(r.exitCode, 0, r.stderr);
      assert.doesNotMatch(r.stdout, /WROTE/);
      assert.match(r.stdout, /tmpfs-ok/);
    });

    it('passes exactly the --env list plus a default PATH, and honours --cwd', async function () {
      const r = await box(['/bin/cat', '/proc/self/environ'], { env: { A: '1', B: 'two words' } });
      assert.deepEqual(r.stdout.split('\0').filter(Boolean).sort(), [
        'A=1',
        'B=two words',
        'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      ]);
      const cwd = await box(['/bin/pwd'], { cwd: '/etc' });
      assert.equal(cwd.stdout, '/etc\n');
    });

    it('gives a minimal /dev with a private devpts and working null, zero, urandom', async function () {
      const r = await box(
        sh('ls /dev | sort | tr "\\n" " "; echo; head -c 4 /dev/zero | wc -c; head -c 4 /dev/urandom | wc -c; echo x > /dev/null && echo null-ok; ls /dev/pts'),
      );
      assert.equal(r.exitCode, 0, r.stderr);
      const names = r.stdout.split('\n')[0].trim().split(' ');
      for (const n of ['null', 'zero', 'full', 'random', 'urandom', 'tty', 'pts', 'ptmx', 'shm'])
        assert.ok(names.includes(n), `/dev/${n} missing: ${names.join(' ')}`);
      assert.match(r.stdout, /^4\n4\nnull-ok\nptmx\n$/m);
    });
  });

  describe('exit codes and signals', function () {
    it('returns the workload\'s exit code and reports started and exited events', async function () {
      const r = await box(sh('exit 42'));
      assert.equal(r.exitCode, 42);
      assert.equal(r.signal, null);
      const kinds = r.events.map((e) => e.event);
      assert.deepEqual(kinds.filter((k) => k !== 'warning'), ['started', 'exited']);
      const exited = r.events.find((e) => e.event === 'exited');
      assert.ok(exited && exited.event === 'exited' && exited.exit_code === 42 && exited.oom_killed === false);
      assert.ok(r.wallMs >= 0 && r.maxRssKb > 0, JSON.stringify(r));
    });

    it('returns 128+N when the workload is killed by signal N', async function () {
      const r = await box(sh('kill -TERM $$; sleep 5'));
      assert.equal(r.exitCode, 143);
      assert.equal(r.signal, 15);
    });

    it('returns 127 for a missing command and 126 for one that cannot be executed', async function () {
      const missing = await box(['/no/such/program']);
      assert.equal(missing.exitCode, 127);
      assert.match(missing.execError ?? '', /cannot execute '\/no\/such\/program': No such file/);
      const notExec = await box(['/etc/passwd']);
      assert.equal(notExec.exitCode, 126);
      assert.match(notExec.execError ?? '', /Permission denied/);
    });

    it('reaps orphaned zombies as pid 1', async function () {
      // The orphan is re-parented to the init; once it exits, only a reaping init makes its
      // /proc entry go away (a zombie keeps it). The loop is bounded so a failure cannot hang.
      const r = await box(
        sh(
          'sh -c "sleep 0.2 & echo \\$! > /tmp/orphan"; pid=$(cat /tmp/orphan); i=0; ' +
            'while [ -e /proc/$pid ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done; ' +
            '[ -e /proc/$pid ] && { echo "not reaped: $(cat /proc/$pid/stat)"; exit 1; }; echo reaped',
        ),
        { mounts: [{ type: 'tmpfs', dest: '/tmp' }] },
      );
      assert.equal(r.stdout.trim(), 'reaped', r.stdout + r.stderr);
      assert.equal(r.exitCode, 0);
    });

    it('forwards SIGUSR1, SIGUSR2, SIGHUP, SIGQUIT, SIGWINCH and SIGINT to the workload', async function () {
      const names = ['USR1', 'USR2', 'HUP', 'QUIT', 'WINCH'] as const;
      const traps = names.map((n) => `trap "echo got-${n}" ${n};`).join(' ');
      const p = startSandbox({
        rootfs: busybox,
        command: sh(`${traps} trap "echo got-INT; exit 5" INT; echo ready; while :; do sleep 0.05; done`),
      });
      let out = '';
      let waiting: { text: string; resolve: () => void } | undefined;
      p.child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        if (waiting && out.includes(waiting.text)) waiting.resolve();
      });
      const waitFor = (text: string) =>
        new Promise<void>((resolve) => {
          waiting = { text, resolve };
          if (out.includes(text)) resolve();
        });
      await waitFor('ready');
      // One at a time: each is sent only once the previous one has been handled.
      for (const n of names) {
        p.child.kill(`SIG${n}`);
        await waitFor(`got-${n}`);
      }
      p.child.kill('SIGINT');
      const r = await p.result;
      assert.match(out, /got-INT/);
      assert.equal(r.exitCode, 5);
    });

    it('stops the whole container on cancellation: no process or mount is left', async function () {
      const marker = String(4000 + Math.floor(Math.random() * 50000));
      const ov = freshOverlay(busybox);
      try {
        const ac = new AbortController();
        let initPid = 0;
        const p = startSandbox({
          overlay: ov,
          graceMs: 200,
          signal: ac.signal,
          // The workload ignores SIGTERM, so only the grace period's SIGKILL ends it; its
          // background child must die with the pid namespace.
          command: sh(
            `trap "" TERM; sleep ${marker} & sleep ${marker} & ` +
              'until [ "$(pidof sleep | wc -w)" = 2 ]; do sleep 0.01; done; echo ready; wait',
          ),
          onEvent: (e) => {
            if (e.event === 'started') initPid = e.pid;
          },
        });
        await new Promise<void>((resolve) => p.child.stdout!.on('data', (d: Buffer) => d.toString().includes('ready') && resolve()));
        try {
          assert.equal(processesWith(`sleep ${marker}`).length, 2, 'the workload is running');
        } finally {
          ac.abort();
        }
        await assert.rejects(p.result, (e: unknown) => e instanceof StrataError && e.code === 'CANCELLED');
        assert.deepEqual(processesWith(`sleep ${marker}`), []);
        assert.ok(initPid > 0 && !fs.existsSync(`/proc/${initPid}`), 'the init is gone');
        assert.doesNotMatch(fs.readFileSync('/proc/self/mountinfo', 'utf8'), new RegExp(path.dirname(ov.upper)));
      } finally {
        ov.dispose();
      }
    });
  });

  describe('when the caller dies', function () {
    it('stops the container when its parent is killed with SIGKILL (no orphaned workload)', async function () {
      const marker = String(4000 + Math.floor(Math.random() * 50000));
      // A shell stands for the language server: it starts strata-box and is then killed outright.
      const parent = spawn('/bin/sh', ['-c', `"$0" run --rootfs "$1" --grace-ms 200 -- sleep ${marker} & wait`, strataBox, busybox], {
        stdio: 'ignore',
      });
      for (let i = 0; i < 500 && processesWith(`sleep ${marker}`).length === 0; i++) await new Promise((r) => setTimeout(r, 10));
      assert.equal(processesWith(`sleep ${marker}`).length, 1, 'the workload is running');
      parent.kill('SIGKILL');
      for (let i = 0; i < 500 && processesWith(`sleep ${marker}`).length > 0; i++) await new Promise((r) => setTimeout(r, 10));
      assert.deepEqual(processesWith(`sleep ${marker}`), [], 'the workload outlived its caller');
    });
  });

  describe('hardening', function () {
    it('does not pass a parent\'s fd into the container', async function () {
      const dir = makeTempDir('fd');
      const secret = path.join(dir, 'secret');
      fs.writeFileSync(secret, 'host secret');
      const fd = fs.openSync(secret, 'r');
      try {
        // The secret is strata-box's fd 3 and 4 (inherited, not close-on-exec).
        const child = spawn(strataBox, ['run', '--rootfs', busybox, '--', '/bin/sh', '-c', 'ls /proc/self/fd; ls -l /proc/self/fd/'], {
          stdio: ['ignore', 'pipe', 'pipe', fd, fd],
        });
        let stdout = '';
        child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
        const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
        assert.equal(code, 0);
        const fds = stdout.split('total')[0].split(/\s+/).filter(Boolean).map(Number);
        assert.deepEqual(fds.sort(), [0, 1, 2, 3], stdout); // 3: the directory ls is reading
        assert.doesNotMatch(stdout, /secret/);
      } finally {
        fs.closeSync(fd);
        removeTree(dir);
      }
    });

    it('keeps /proc/1/exe and the workload\'s own exe from being written; the host binary is unchanged', async function () {
      const before = fs.readFileSync(strataBox);
      const r = await box(
        sh(
          'echo x >> /proc/1/exe 2>/dev/null && echo WROTE-INIT; ' +
            'cat /proc/1/exe > /dev/null 2>&1 && echo READ-INIT; ' +
            'echo x >> /proc/self/exe 2>/dev/null && echo WROTE-SELF; ' +
            'readlink /proc/1/exe 2>&1; echo done',
        ),
      );
      assert.equal(r.exitCode, 0, r.stderr);
      assert.doesNotMatch(r.stdout, /WROTE|READ-INIT/);
      assert.match(r.stdout, /done/);
      assert.ok(before.equals(fs.readFileSync(strataBox)), 'the strata-box binary changed');
    });

    describe('CVE-2019-5736: the container never runs a strata-box binary it could write', function () {
      // The image gets the host's dynamic loader and libraries, so strata-box really starts inside
      // when nothing stops it, also where it is linked dynamically (native/Makefile; in plain busybox
      // its exec would then fail with ENOENT and prove nothing; a static build needs none).
      // `withLibs` is such a copy of busybox with an attacking script in it.
      let withLibs: { dir: string; dispose(): void };
      let binDir = '';
      before(async function () {
        withLibs = await rootfsCopy(busybox);
        const ldd = execFileSync('ldd', [strataBox], { encoding: 'utf8' });
        for (const m of ldd.matchAll(/(\/\S+) \(0x/g)) {
          const lib = m[1];
          const dest = path.join(withLibs.dir, lib);
          fs.mkdirSync(path.dirname(dest), { recursive: true });
          fs.copyFileSync(fs.realpathSync(lib), dest);
          fs.chmodSync(dest, 0o755);
        }
        // A script whose interpreter is the exec-ing process's own executable: the original attack.
        fs.writeFileSync(path.join(withLibs.dir, 'evil'), '#!/proc/self/exe\n', { mode: 0o755 });
        binDir = makeTempDir('binary');
      });
      after(function () {
        withLibs?.dispose();
        if (binDir) removeTree(binDir);
      });

      function run(binary: string, command: string[], env: NodeJS.ProcessEnv = {}, flags: string[] = []) {
        return spawnSync(binary, ['run', '--rootfs', withLibs.dir, '--status-fd', '3', ...flags, '--', ...command], {
          encoding: 'utf8',
          env: { ...process.env, ...env },
          stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
        });
      }

      /** A copy of strata-box owned by the invoking user, so container root could write it. */
      function ownCopy(name: string): string {
        const own = path.join(binDir, name);
        fs.copyFileSync(strataBox, own);
        fs.chmodSync(own, 0o755);
        return own;
      }

      it('runs strata-box inside when the container could not write it (the control)', function () {
        // As root the repository's binary belongs to root, who is mapped: use a copy owned by an id
        // the container does not map. Unprivileged, the root-owned repository binary is such a file.
        let theirs = strataBox;
        if (isRoot()) {
          theirs = path.join(binDir, 'theirs');
          fs.copyFileSync(strataBox, theirs);
          fs.chmodSync(theirs, 0o755);
          fs.chownSync(theirs, 65534, 65534);
        }
        assert.notEqual(fs.statSync(theirs).uid, process.getuid!());
        const r = run(theirs, ['/proc/self/exe', '--version']);
        assert.equal(r.status, 0, r.stderr);
        assert.match(r.stdout, /^strata-box \d/);
      });

      it('refuses /proc/self/exe and a #!/proc/self/exe script when it could; the binary is unchanged', function () {
        const own = ownCopy('own');
        const before = fs.readFileSync(own);
        for (const command of [['/proc/self/exe', '--version'], ['/evil', '--version']]) {
          const r = run(own, command);
          assert.equal(r.status, 126, `${command[0]}: ${r.stderr}`);
          assert.doesNotMatch(r.stdout, /strata-box \d/);
          assert.match(r.stderr, /refusing to run '.*': it executed strata-box's own binary.*CVE-2019-5736/);
          const events = (r.output[3] ?? '').trim().split('\n').map((l) => JSON.parse(l) as SandboxEvent);
          assert.deepEqual(
            events.map((e) => e.event),
            ['error'],
          );
        }
        // The workload that is not strata-box runs normally under the same binary.
        const ok = run(own, ['/bin/sh', '-c', 'cat /proc/1/comm; echo x >> /proc/1/exe 2>/dev/null && echo WROTE; true']);
        assert.equal(ok.status, 0, ok.stderr);
        assert.equal(ok.stdout, 'own\n'); // /proc/1/comm: the host file itself, no copy
        assert.ok(before.equals(fs.readFileSync(own)), 'the strata-box binary changed');
      });

      it('lets the container run the binary through a read-only bind, where it cannot be written', function () {
        const own = ownCopy('bound');
        const r = run(own, ['/sb/bound', '--version'], {}, ['--ro-bind', binDir, '/sb']);
        assert.equal(r.status, 0, r.stderr);
        assert.match(r.stdout, /^strata-box \d/);
        // The same file bound writable is refused.
        const rw = run(own, ['/sb/bound', '--version'], {}, ['--bind', binDir, '/sb']);
        assert.equal(rw.status, 126, rw.stderr);
      });

      it('runs from a sealed memfd copy instead with STRATA_BOX_EXEC_GUARD=sealed-copy', function () {
        const own = ownCopy('sealed');
        const before = fs.readFileSync(own);
        const env = { STRATA_BOX_EXEC_GUARD: 'sealed-copy' };
        const attack = run(own, ['/bin/sh', '-c', 'cat /proc/1/comm; echo x >> /proc/1/exe 2>/dev/null && echo WROTE; true'], env);
        assert.equal(attack.status, 0, attack.stderr);
        assert.match(attack.stdout, /^memfd:strata-bo/);
        assert.doesNotMatch(attack.stdout, /WROTE/);
        // /proc/self/exe now leads to the sealed copy, which may run: nothing can write it.
        const nested = run(own, ['/proc/self/exe', '--version'], env);
        assert.equal(nested.status, 0, nested.stderr);
        assert.match(nested.stdout, /^strata-box \d/);
        assert.ok(before.equals(fs.readFileSync(own)), 'the strata-box binary changed');
      });
    });

    it('limits capabilities to Docker\'s default set, sets no_new_privs, resets signals', async function () {
      // grep itself, not under a shell (busybox sh ignores SIGQUIT for its children).
      const r = await box(['/bin/grep', '-E', '^(CapEff|CapBnd|CapInh|NoNewPrivs|SigIgn|SigBlk)', '/proc/self/status']);
      assert.match(r.stdout, /CapEff:\s+00000000a80425fb/);
      assert.match(r.stdout, /CapBnd:\s+00000000a80425fb/);
      assert.match(r.stdout, /CapInh:\s+0000000000000000/);
      assert.match(r.stdout, /NoNewPrivs:\s+1/);
      // strata-box ignores SIGPIPE and blocks the signals it forwards; none of that may leak.
      assert.match(r.stdout, /SigIgn:\s+0000000000000000/);
      assert.match(r.stdout, /SigBlk:\s+0000000000000000/);
    });

    it('with --fakeroot and a single id, chown succeeds without effect; without it, it fails', async function () {
      const script =
        'awk \'END { print "map-lines", NR }\' /proc/self/uid_map; touch /tmp/f; ' +
        'chown 123:456 /tmp/f && echo chown-ok; stat -c "owner %u:%g" /tmp/f';
      const plain = await box(sh(script), { mounts: [{ type: 'tmpfs', dest: '/tmp' }] });
      const faked = await box(sh(script), { fakeroot: true, mounts: [{ type: 'tmpfs', dest: '/tmp' }] });
      if (!/map-lines 1$/m.test(plain.stdout)) {
        // A subuid range: chown is real, and --fakeroot changes nothing.
        assert.match(plain.stdout, /chown-ok\nowner 123:456/);
        assert.match(faked.stdout, /chown-ok\nowner 123:456/);
        return;
      }
      assert.doesNotMatch(plain.stdout, /chown-ok/);
      assert.match(faked.stdout, /chown-ok\nowner 0:0/);
    });

    it('resolves a bind destination inside the root even through a symlink to a host path', async function () {
      // CVE-2021-30465 class: /escape -> /tmp in the image means the image's /tmp, never the host's.
      const ov = freshOverlay(busybox);
      const src = makeTempDir('src');
      const name = path.basename(src);
      try {
        fs.symlinkSync('/tmp', path.join(ov.upper, 'escape'));
        const r = await box(sh(`ls -d /tmp/${name} && echo inside`), {
          rootfs: undefined,
          overlay: ov,
          mounts: [{ type: 'bind', src, dest: `/escape/${name}/sub` }],
        });
        assert.equal(r.exitCode, 0, r.stderr);
        assert.match(r.stdout, /inside/);
        assert.deepEqual(fs.readdirSync(src), [], 'nothing was created in the host directory');
        // The mount point was made in the image's /tmp and removed again at the end.
        assert.ok(!fs.existsSync(path.join(ov.upper, 'tmp', name, 'sub')));
      } finally {
        ov.dispose();
        removeTree(src);
      }
    });

    it('refuses a bind destination through a symlink whose target is missing in the image', async function () {
      const ov = freshOverlay(busybox);
      const hostTarget = makeTempDir('target');
      const src = makeTempDir('src');
      try {
        fs.symlinkSync(hostTarget, path.join(ov.upper, 'escape'));
        await assert.rejects(
          runInSandbox({ overlay: ov, command: ['/bin/true'], mounts: [{ type: 'bind', src, dest: '/escape/mnt' }] }),
          (e: unknown) => e instanceof StrataError && /mount point '\/escape\/mnt'/.test(e.message),
        );
        assert.deepEqual(fs.readdirSync(hostTarget), [], 'nothing was created in the host directory');
      } finally {
        ov.dispose();
        removeTree(hostTarget);
        removeTree(src);
      }
    });

    it('refuses an image whose /proc is a symlink', async function () {
      const ov = freshOverlay(busybox);
      try {
        // In the upper dir, /proc as a symlink hides the lower /proc directory.
        fs.symlinkSync('/tmp', path.join(ov.upper, 'proc'));
        await assert.rejects(
          runInSandbox({ overlay: ov, command: ['/bin/true'] }),
          (e: unknown) => e instanceof StrataError && e.code === 'SANDBOX' && /\/proc is a symlink/.test(e.message),
        );
      } finally {
        ov.dispose();
      }
    });
  });

  describe('id mapping', function () {
    it('maps only the invoking user without a subordinate range, and 0-65535 with one', async function () {
      // Run here as root or as strata-test: neither has a range, so container 0 is us alone.
      const single = await box(['/bin/cat', '/proc/self/uid_map', '/proc/self/gid_map']);
      const uid = process.getuid!();
      assert.deepEqual(
        single.stdout.trim().split('\n').map((l) => l.trim().split(/\s+/).map(Number)),
        [
          [0, uid, 1],
          [0, process.getgid!(), 1],
        ],
      );
      if (!isRoot()) return; // only root can become the range user; the root run covers it
      const copy = await rootfsCopy(busybox);
      try {
        const rangeUid = uidOf(RANGE_USER);
        execFileSync('chown', ['-R', `${rangeUid}:${rangeUid}`, copy.dir]);
        const r = await runAsUnprivileged(
          strataBox,
          ['run', '--rootfs', copy.dir, '--', '/bin/sh', '-c', 'cat /proc/self/uid_map; touch /tmp/owned && chown 1000:1000 /tmp/owned && echo chowned'],
          { user: RANGE_USER },
        );
        assert.equal(r.code, 0, r.stderr);
        const lines = r.stdout.trim().split('\n').map((l) => l.trim().split(/\s+/));
        assert.deepEqual(lines.slice(0, 2), [
          ['0', String(rangeUid), '1'],
          ['1', '400000', '65535'],
        ]);
        assert.equal(lines[2][0], 'chowned');
        // Container uid 1000 is subordinate id 400000 + 999 on the host.
        assert.equal(fs.statSync(path.join(copy.dir, 'tmp', 'owned')).uid, 400999);
      } finally {
        copy.dispose();
      }
    });
  });

  describe('overlay root', function () {
    it('lands writes and deletions in the upper dir and leaves the lower dir alone', async function () {
      const ov = freshOverlay(busybox);
      try {
        const r = await box(sh('echo new > /etc/created; rm /etc/group; mkdir -p /opt/x'), {
          rootfs: undefined,
          overlay: ov,
        });
        assert.equal(r.exitCode, 0, r.stderr);
        assert.equal(fs.readFileSync(path.join(ov.upper, 'etc', 'created'), 'utf8'), 'new\n');
        assert.ok(fs.lstatSync(path.join(ov.upper, 'etc', 'group')).isCharacterDevice(), 'whiteout for /etc/group');
        assert.ok(fs.existsSync(path.join(busybox, 'etc', 'group')), 'lower dir unchanged');
        // No mount points of ours are left in the upper dir (/proc, /dev, /sys exist in the image).
        assert.deepEqual(fs.readdirSync(ov.upper).sort(), ['etc', 'opt']);
      } finally {
        ov.dispose();
      }
    });
  });

  describe('volatile overlay', function () {
    it('mounts the same upper and work dirs again after a clean end, but refuses them after a crash', async function () {
      const ov = freshOverlay(busybox);
      try {
        const opts = { rootfs: undefined, overlay: ov };
        assert.equal((await box(sh('echo one >> /log'), opts)).exitCode, 0);
        const again = await box(sh('echo two >> /log; cat /log'), opts);
        assert.equal(again.stdout, 'one\ntwo\n', again.stderr);
        // The state a crash mid-run leaves: overlayfs's volatile marker (made at every mount),
        // without strata-box's note that the last run ended cleanly (an xattr on the work dir,
        // removed when a run starts). Node has no xattr calls; Python's os module has.
        const note = (op: string) =>
          execFileSync('python3', ['-c', `import os, sys; print(os.${op}(sys.argv[1], 'user.strata-box.clean-end'))`, ov.work], {
            encoding: 'utf8',
          });
        assert.equal(note('getxattr').trim(), "b'1'");
        // The note as earlier versions left it, an empty file, still counts.
        note('removexattr');
        fs.writeFileSync(path.join(ov.work, '.strata-box-clean'), '');
        assert.equal((await box(sh('echo three >> /log'), opts)).exitCode, 0);
        assert.ok(!fs.existsSync(path.join(ov.work, '.strata-box-clean')));
        note('removexattr');
        await assert.rejects(
          runInSandbox({ overlay: ov, command: ['/bin/true'] }),
          (e: unknown) => e instanceof StrataError && /did not end cleanly/.test(e.message) && /fresh --upper/.test(e.message),
        );
      } finally {
        ov.dispose();
      }
    });
  });

  describe('empty root (FROM scratch)', function () {
    it('runs on an overlay with no lower dir, writes landing in the upper dir', async function () {
      const ov = freshOverlay(busybox);
      try {
        const r = await box(['/bin/sh', '-c', 'ls -A /; echo data > /made'], {
          rootfs: undefined,
          overlay: { lower: [], upper: ov.upper, work: ov.work },
          mounts: [{ type: 'ro-bind', src: path.join(busybox, 'bin'), dest: '/bin' }],
        });
        assert.equal(r.exitCode, 0, r.stderr);
        // Only the mount points: /bin (the bind) and the API file systems.
        assert.deepEqual(r.stdout.trim().split('\n').sort(), ['bin', 'dev', 'proc', 'sys']);
        // ...which are gone again afterwards; what the workload wrote stays.
        assert.deepEqual(fs.readdirSync(ov.upper), ['made']);
      } finally {
        ov.dispose();
      }
    });
  });

  describe('mount points and working directory', function () {
    it('removes the mount points it made, even with --read-only, and leaves the upper dir clean', async function () {
      const ov = freshOverlay(busybox);
      const src = makeTempDir('src');
      try {
        const r = await box(sh('ls -d /new/deep/mnt /scratch && touch /etc/x 2>/dev/null || echo read-only'), {
          rootfs: undefined,
          overlay: ov,
          readOnly: true,
          mounts: [
            { type: 'bind', src, dest: '/new/deep/mnt' },
            { type: 'tmpfs', dest: '/scratch' },
          ],
        });
        assert.equal(r.exitCode, 0, r.stderr);
        assert.match(r.stdout, /read-only/);
        assert.deepEqual(fs.readdirSync(ov.upper), []);
      } finally {
        ov.dispose();
        removeTree(src);
      }
    });

    it('resolves --cwd inside the root: ".." and a symlink to a host path stay inside', async function () {
      const ov = freshOverlay(busybox);
      try {
        fs.symlinkSync('/etc', path.join(ov.upper, 'link-to-etc'));
        const dotdot = await box(['/bin/pwd'], { rootfs: undefined, overlay: ov, cwd: '/../../..' });
        assert.equal(dotdot.stdout, '/\n');
        const viaLink = await box(['/bin/sh', '-c', 'pwd -P; ls'], { rootfs: undefined, overlay: ov, cwd: '/link-to-etc' });
        assert.equal(viaLink.exitCode, 0, viaLink.stderr);
        assert.match(viaLink.stdout, /^\/etc\n/);
        // The image's /etc (passwd and group only), not the host's.
        assert.deepEqual(viaLink.stdout.split('\n').slice(1).filter(Boolean).sort(), fs.readdirSync(path.join(busybox, 'etc')).sort());
      } finally {
        ov.dispose();
      }
    });
  });

  describe('errors', function () {
    it('names a missing bind source and exits with the mount class code', async function () {
      await assert.rejects(
        runInSandbox({ rootfs: busybox, command: ['/bin/true'], mounts: [{ type: 'bind', src: '/no/such/dir', dest: '/x' }] }),
        (e: unknown) => e instanceof StrataError && /bind source '\/no\/such\/dir'/.test(e.message) && !!e.hint,
      );
    });

    it('names the limit when no network namespace can be made, and --net host still runs', function () {
      // A user namespace whose network namespace limit is 0 (unshare -Ur works as root and as the
      // unprivileged user): strata-box's helper (native/src/netns.h) fails, and the init reports it.
      const limited = (net: string) =>
        spawnSync(
          'unshare',
          ['-Ur', 'sh', '-c', 'echo 0 > /proc/sys/user/max_net_namespaces && exec "$0" "$@"', strataBox, 'run']
            .concat(['--net', net, '--status-fd', '3', '--rootfs', busybox, '--', '/bin/sh', '-c', 'echo ran']),
          { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe', 'pipe'] },
        );
      const r = limited('none');
      assert.equal(r.status, 242, r.stderr);
      assert.equal(r.stdout, '');
      assert.match(
        r.stderr,
        /^strata-box: create the network namespace \(check sysctl user\.max_net_namespaces, or run with --net host\): No space left on device\n$/,
      );
      const events = (r.output[3] ?? '').trim().split('\n').map((l) => JSON.parse(l) as SandboxEvent);
      assert.deepEqual(events.map((e) => e.event), ['error']);
      const host = limited('host');
      assert.equal(host.status, 0, host.stderr);
      assert.equal(host.stdout, 'ran\n');
    });

    it('runs with its own network namespace from a binary the caller cannot read', async function () {
      // The kernel makes a process started from an unreadable binary non-dumpable, which would close
      // the init's /proc/PID/ns files to the supervisor (native/src/run.c makes it dumpable again).
      const dir = makeTempDir('unreadable');
      // Root may read anything: as root, the unprivileged user runs root's 0711 copy in a root file
      // system of its own; unprivileged, our own copy without the read bit.
      const copy = isRoot() ? await rootfsCopy(busybox) : undefined;
      try {
        fs.chmodSync(dir, 0o755);
        const binary = path.join(dir, 'strata-box');
        fs.copyFileSync(strataBox, binary);
        fs.chmodSync(binary, isRoot() ? 0o711 : 0o111);
        if (copy) execFileSync('chown', ['-R', `${uidOf(SINGLE_ID_USER)}:${uidOf(SINGLE_ID_USER)}`, copy.dir]);
        const script = 'ls /sys/class/net; cat /sys/class/net/lo/operstate';
        const args = ['run', '--rootfs', copy?.dir ?? busybox, '--', '/bin/sh', '-c', script];
        let r: { code: number | null; stdout: string; stderr: string };
        if (isRoot()) r = await runAsUnprivileged(binary, args);
        else {
          const s = spawnSync(binary, args, { encoding: 'utf8' });
          r = { code: s.status, stdout: s.stdout, stderr: s.stderr };
        }
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, /^lo\n(unknown|up)\n$/);
      } finally {
        removeTree(dir);
        copy?.dispose();
      }
    });

    it('rejects bad flags with a usage message and exit code 240', async function () {
      const r = spawnSync(strataBox, ['run', '--net', 'bogus', '--rootfs', busybox, '--', '/bin/true'], { encoding: 'utf8' });
      assert.equal(r.status, 240);
      assert.match(r.stderr, /--net expects 'none' or 'host', not 'bogus'/);
      const missing = spawnSync(strataBox, ['run', '--', '/bin/true'], { encoding: 'utf8' });
      assert.equal(missing.status, 240);
      assert.match(missing.stderr, /--rootfs DIR or --lower/);
    });
  });
});

function processesWith(cmdline: string): number[] {
  const found: number[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const c = fs.readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0').join(' ').trim();
      if (c === cmdline) found.push(Number(name));
    } catch {
      /* gone meanwhile */
    }
  }
  return found;
}
