// The quickstart example and busybox specs through the CLI: build, cache, lock, run, records,
// drift, staleness, verify. Runs as root and again as the unprivileged user (test/run-all.ts).
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { RunRecord } from '../../server/src/engine/run/records';
import {
  cliBundle,
  requirePrerequisites,
  runCli,
  runCollect,
  strataBox,
  useTempStrataHome,
} from '../support';
import {
  cliEnv,
  copyExample,
  events,
  listDir,
  ok,
  sha256File,
  stepStatuses,
  strata,
  writeSpec,
} from './helpers';

const THREE_STEPS = (last: string) => `strata: 1
name: three
from: docker.io/library/busybox:1.35
steps:
  - run: echo one > /one.txt
  - run: echo two > /two.txt
  - run: ${last}
workloads:
  show:
    command: [cat, /one.txt, /two.txt, /three.txt]
`;

describe('build: quickstart and busybox specs', function () {
  before(function () {
    requirePrerequisites(this, {
      commands: ['docker-registry', 'skopeo', 'umoci'],
      files: [cliBundle, strataBox],
    });
  });
  const env = useTempStrataHome();

  it('builds and runs examples/quickstart, writes the lock, and a no-change rebuild runs no step and keeps the lock', async function () {
    const dir = copyExample('quickstart', env.workspace);
    const first = await strata(['build'], env.home, dir);
    ok(first, 'build');
    assert.match(first.stdout, /step 1\/1: copy: \.\/src -> \/opt\/hello/);
    const lockFile = path.join(dir, 'strata.lock');
    const lock = fs.readFileSync(lockFile, 'utf8');
    assert.match(lock, /^lockVersion: 1$/m);
    assert.match(lock, /ref: docker\.io\/library\/busybox:1\.35/);
    const mtime = fs.statSync(lockFile).mtimeMs;

    const again = await strata(['build', '--json'], env.home, dir);
    ok(again, 'rebuild');
    assert.deepEqual(stepStatuses(again.stdout), ['cached']);
    const done = events(again.stdout).find((e) => e.type === 'done');
    assert.equal(done?.ran, 0);
    assert.equal(events(again.stdout).find((e) => e.type === 'lock')?.status, 'unchanged');
    assert.equal(fs.readFileSync(lockFile, 'utf8'), lock);
    assert.equal(fs.statSync(lockFile).mtimeMs, mtime);

    // Another tool reads the image from the store's OCI layout, with the digest the lock names.
    const inspected = await runCollect('skopeo', ['inspect', `oci:${env.home}/oci:strata/quickstart`], {});
    assert.equal(inspected.code, 0, inspected.stderr);
    const info = JSON.parse(inspected.stdout) as { Digest: string; Created: string };
    assert.equal(`  manifest: ${info.Digest}`, lock.trimEnd().split('\n').pop());
    const epoch = Number(/^epoch: (\d+)$/m.exec(lock)![1]);
    assert.equal(Date.parse(info.Created), epoch * 1000, 'the config carries the epoch, not the build time');

    const run = await strata(['run', 'hello'], env.home, dir);
    ok(run, 'run');
    assert.match(run.stdout, /hello from/);
    const greeting = fs.readFileSync(path.join(dir, 'results', 'greeting.txt'), 'utf8');
    assert.match(greeting, /running as uid 0 in \/job/);
  });

  it('editing the last step re-runs only that step', async function () {
    const dir = path.join(env.workspace, 'three');
    writeSpec(dir, THREE_STEPS('echo three > /three.txt'));
    ok(await strata(['build'], env.home, dir), 'first build');
    writeSpec(dir, THREE_STEPS('echo THREE > /three.txt'));
    const second = await strata(['build', '--json'], env.home, dir);
    ok(second, 'build after editing the last step');
    assert.deepEqual(stepStatuses(second.stdout), ['cached', 'cached', 'done']);
    const run = await strata(['run'], env.home, dir);
    ok(run, 'run');
    assert.equal(run.stdout, 'one\ntwo\nTHREE\n');
  });

  it('returns the workload exit code, 126 and 127 for commands that cannot run, 125 when Strata fails', async function () {
    const dir = copyExample('quickstart', env.workspace);
    ok(await strata(['build'], env.home, dir), 'build');
    assert.equal((await strata(['run', '--', 'sh', '-c', 'exit 7'], env.home, dir)).code, 7);
    const missing = await strata(['run', '--', '/no/such/command'], env.home, dir);
    assert.equal(missing.code, 127, missing.stderr);
    const notExec = await strata(['run', '--', '/etc/passwd'], env.home, dir);
    assert.equal(notExec.code, 126, notExec.stderr);
    const broken = await runCli(['run', '--', 'true'], {
      cwd: dir,
      env: { STRATA_HOME: env.home, STRATA_BOX: '/nonexistent/strata-box' },
    });
    assert.equal(broken.code, 125, broken.stderr);
    assert.match(broken.stderr, /strata-box/);
  });

  it('asks which workload when there are several, and names a missing mount source with its position', async function () {
    const dir = path.join(env.workspace, 'two');
    writeSpec(
      dir,
      `strata: 1
name: two
from: docker.io/library/busybox:1.35
mounts:
  - { src: ./data, dest: /data }
workloads:
  a: { command: [true] }
  b: { command: [false] }
`,
    );
    fs.mkdirSync(path.join(dir, 'data'));
    const which = await strata(['run'], env.home, dir);
    assert.equal(which.code, 2, which.stderr);
    assert.match(which.stderr, /which one\?[\s\S]*a, b/);
    assert.equal((await strata(['run', 'b'], env.home, dir)).code, 1);
    fs.rmdirSync(path.join(dir, 'data'));
    const noMount = await strata(['run', 'a'], env.home, dir);
    assert.equal(noMount.code, 1, noMount.stderr);
    assert.match(noMount.stderr, /strata\.yaml:5:5: .*data/);
  });

  it('runs an image by name, without network unless asked, with a terminal when interactive', async function () {
    const dir = copyExample('quickstart', env.workspace);
    ok(await strata(['build'], env.home, dir), 'build');
    const byName = await strata(
      ['run', '--image', 'strata/quickstart', '--', 'cat', '/opt/hello/hello.sh'],
      env.home,
      dir,
    );
    ok(byName, 'run --image');
    assert.equal(byName.stdout, fs.readFileSync(path.join(dir, 'src', 'hello.sh'), 'utf8'));
    const net = await strata(['run', '--', 'ls', '/sys/class/net'], env.home, dir);
    ok(net, 'run ls /sys/class/net');
    assert.equal(net.stdout.trim(), 'lo');
    const hostNet = await strata(['run', '--net', 'host', '--', 'ls', '/sys/class/net'], env.home, dir);
    ok(hostNet, 'run --net host');
    assert.notEqual(hostNet.stdout.trim(), 'lo');
    const noTty = await strata(
      ['run', '--', 'sh', '-c', 'test -t 1 && echo tty || echo notty'],
      env.home,
      dir,
    );
    assert.equal(noTty.stdout.trim(), 'notty');
    // script(1) gives the CLI a real terminal, as an interactive shell has.
    const command = [
      process.execPath,
      cliBundle,
      'run',
      '--',
      'sh',
      '-c',
      'test -t 0 && test -t 1 && echo tty || echo notty',
    ]
      .map((a) => `'${a}'`)
      .join(' ');
    const inTty = await runCollect('script', ['-qec', command, '/dev/null'], {
      cwd: dir,
      env: { ...process.env, ...(await cliEnv(env.home)), NO_COLOR: '1' },
    });
    assert.equal(inTty.code, 0, inTty.stderr + inTty.stdout);
    assert.match(inTty.stdout, /^tty\r?$/m);
  });

  it('opens a shell in the environment that reads its commands from stdin, with the spec mounts', async function () {
    const dir = copyExample('quickstart', env.workspace);
    ok(await strata(['build'], env.home, dir), 'build');
    const shell = await runCli(['shell'], {
      cwd: dir,
      env: await cliEnv(env.home),
      input: 'pwd; ls /opt/hello; echo made > results/from-shell.txt; exit 3\n',
    });
    assert.equal(shell.code, 3, shell.stderr);
    assert.equal(shell.stdout, '/job\nhello.sh\n');
    assert.equal(fs.readFileSync(path.join(dir, 'results', 'from-shell.txt'), 'utf8'), 'made\n');
  });

  it('writes a run record with the image and lock digests and the sha256 of every output file', async function () {
    const dir = copyExample('quickstart', env.workspace);
    ok(await strata(['build'], env.home, dir), 'build');
    ok(await strata(['run'], env.home, dir), 'run');
    const list = await strata(['runs', '--json'], env.home, dir);
    ok(list, 'runs');
    const records = list.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as RunRecord);
    assert.equal(records.length, 1);
    const r = records[0];
    const lockText = fs.readFileSync(path.join(dir, 'strata.lock'), 'utf8');
    const manifest = /\n {2}manifest: (sha256:[0-9a-f]{64})/.exec(lockText)![1];
    assert.equal(r.image.manifest, manifest);
    assert.equal(r.lock?.digest, `sha256:${sha256File(path.join(dir, 'strata.lock'))}`);
    assert.equal(r.workload, 'hello');
    assert.deepEqual(r.command, ['sh', '/opt/hello/hello.sh']);
    assert.equal(r.exit.code, 0);
    assert.equal(r.network, 'none');
    const greeting = r.outputs.find((o) => o.path === 'results/greeting.txt');
    assert.ok(greeting, JSON.stringify(r.outputs));
    assert.equal(greeting.sha256, sha256File(path.join(dir, 'results', 'greeting.txt')));
    assert.ok(r.host.kernel.includes('Linux') && r.host.cpu.count > 0);
    assert.ok(Date.parse(r.endedAt) >= Date.parse(r.startedAt));
    const show = await strata(['runs', 'show', r.id.slice(0, 18)], env.home, dir);
    ok(show, 'runs show');
    assert.ok(show.stdout.includes(greeting.sha256) && show.stdout.includes(manifest));
  });

  it('verify says reproduced; a stale lock is refused naming the changed fields', async function () {
    const dir = copyExample('quickstart', env.workspace);
    ok(await strata(['build'], env.home, dir), 'build');
    const verify = await strata(['verify'], env.home, dir);
    ok(verify, 'verify');
    assert.match(verify.stdout, /reproduced/);
    const spec = path.join(dir, 'strata.yaml');
    fs.writeFileSync(
      spec,
      fs.readFileSync(spec, 'utf8').replace('workdir: /job', 'workdir: /work\nenv: { MODE: fast }'),
    );
    const stale = await strata(['build', '--locked'], env.home, dir);
    assert.equal(stale.code, 1, stale.stderr);
    assert.match(stale.stderr, /stale/);
    assert.match(stale.stderr, /\benv\b/);
    assert.match(stale.stderr, /\bworkdir\b/);
  });

  it('build --locked reports drift with the step and the files when a diff_id differs from the lock', async function () {
    const dir = copyExample('quickstart', env.workspace);
    ok(await strata(['build'], env.home, dir), 'build v1');
    const lockFile = path.join(dir, 'strata.lock');
    const v1 = fs.readFileSync(lockFile, 'utf8');
    const script = path.join(dir, 'src', 'hello.sh');
    fs.appendFileSync(script, 'echo "a second version"\n');
    ok(await strata(['build'], env.home, dir), 'build v2');
    const v2 = fs.readFileSync(lockFile, 'utf8');
    // The lock of v2 with the layer of v1 pinned for the copy step: the spec is unchanged, so the
    // lock is not stale, but the layer the spec builds is not the layer the lock pins.
    const layerOf = (t: string) => /\n {4}layer: (\{[^\n]*\})/.exec(t)![1];
    fs.writeFileSync(lockFile, v2.replace(layerOf(v2), layerOf(v1)));
    const locked = await strata(['build', '--locked'], env.home, dir);
    assert.equal(locked.code, 1, locked.stderr);
    assert.match(locked.stdout, /drift: 1 of 1 step/);
    assert.match(locked.stdout, /step 1 at strata\.yaml:7:5: copy: \.\/src -> \/opt\/hello/);
    assert.match(locked.stdout, /changed +\/opt\/hello\/hello\.sh +\d+ B -> \d+ B \(content\)/);
  });

  it('Ctrl-C in the middle of a step leaves no process, mount or partial store entry', async function () {
    const dir = path.join(env.workspace, 'slow');
    writeSpec(
      dir,
      `strata: 1\nname: slow\nfrom: docker.io/library/busybox:1.35\nsteps:\n  - run: echo started; sleep 60; echo never > /x\n`,
    );
    const child = spawn(process.execPath, [cliBundle, 'build', '--json'], {
      cwd: dir,
      env: { ...process.env, ...(await cliEnv(env.home)) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (/"line":"started"/.test(out)) resolve();
      });
      void exited.then(() => reject(new Error(`build ended before the step started:\n${out}\n${err}`)));
    });
    child.kill('SIGINT');
    const code = await exited;
    assert.equal(code, 130, err);
    assert.match(err, /cancel/i);
    // No process of this build is left: nothing on the machine mentions this store.
    const leftovers = fs
      .readdirSync('/proc')
      .filter((p) => /^\d+$/.test(p))
      .filter((p) => {
        try {
          return fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(env.home);
        } catch {
          return false;
        }
      });
    assert.deepEqual(leftovers, []);
    assert.ok(!fs.readFileSync('/proc/self/mountinfo', 'utf8').includes(env.home));
    // Nothing half-made: no step dirs, no cache entry, only the base image's layer tree.
    assert.deepEqual(
      listDir(path.join(env.home, 'tmp')).filter((n) => n !== 'locks'),
      [],
    );
    assert.deepEqual(listDir(path.join(env.home, 'cache')), []);
    assert.equal(
      listDir(path.join(env.home, 'layers', 'sha256')).filter((n) => !n.endsWith('.json')).length,
      1,
    );
    assert.ok(!fs.existsSync(path.join(dir, 'strata.lock')));
  });
});
