// The same spec gives the same layers for every user (build/README.md "Same layers for every
// user"): root (0 -> 0), a single-id user (container root = the user) and a user with a subordinate
// id range (400000:65536) build it, each in a fresh STRATA_HOME, and get equal diff_ids and
// manifest digests; each then runs a workload in it. Every user's build steps run with one mapped
// id and --fakeroot (strata-box run --single-id), so steps that depend on ids (su, chown, apt's
// drop to _apt) record the same answers; the range user's workloads keep the range.
// Switching users needs root: the root pass of the build suite compares the three users; the
// rootless pass (test/run-all.ts runs this suite again as strata-test) checks its own build against
// the rule that makes them equal (every owner 0) and against a second fresh build.
import * as assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseDigest } from '../../server/src/engine/digest';
import { readLayer } from '../../server/src/engine/layer/read';
import type { LayerEntry } from '../../server/src/engine/sandbox/entry';
import { openStore } from '../../server/src/engine/store/store';
import {
  asUserArgv,
  cliBundle,
  ensureTestUsers,
  isRoot,
  makeTempDir,
  RANGE_USER,
  removeTree,
  requirePrerequisites,
  runAsUnprivileged,
  runCli,
  SINGLE_ID_USER,
  strataBox,
  uidOf,
} from '../support';
import { cliEnv, debianSeeded, lockDigests, ok, writeSpec } from './helpers';

const SPEC = `strata: 1
name: crossuser
from: docker.io/library/busybox:latest
steps:
  - run: |
      mkdir -p /data/private /srv/deep/er
      echo hello > /data/hello.txt
      chown 42:42 /data/hello.txt
      chown 1000:100 /srv/deep
      echo secret > /data/private/secret.txt
      chown 7:7 /data/private/secret.txt /data/private
      chmod 700 /data/private
      chmod 4755 /data/hello.txt
      ln -s /data/hello.txt /srv/link
      rm /bin/vi
  - copy: { src: ./files, dest: /opt/files }
  - run: cat /opt/files/a.txt > /data/copied.txt && chown 65534:65534 /data/copied.txt
workloads:
  check:
    command: [sh, -c, 'cat /data/hello.txt /data/private/secret.txt /data/copied.txt; readlink /srv/link; test ! -e /bin/vi && echo no-vi']
`;

// apt running as each user: dpkg chowns (root:shadow and the like) and apt's own _apt folders.
const APT_SPEC = `strata: 1
name: crossapt
from: docker.io/library/debian:bookworm
steps:
  - apt: [hello]
  - run: hello > /hello.txt && ls -ln /var/cache/apt/archives > /apt-cache.txt
workloads:
  greet:
    command: [cat, /hello.txt]
`;

// Steps whose behaviour depends on ids: `su` to another user, chown and reading the owner back, and
// how many lines the step's uid_map has. Every user's steps run single-id with --fakeroot (strata-box
// run --single-id), so all three users record the same answers: su and chown succeed without
// effect and container root stays 0. (With a range, su would really become 1234 and the chown
// would stick: the answers, and so the layer, would depend on who builds.) A folder and a file of
// mode 000 must still be read into the layer by an unprivileged user's scan.
const ID_SPEC = `strata: 1
name: crossids
from: docker.io/library/busybox:latest
steps:
  - run: |
      echo 'alice:x:1234:1234::/tmp:/bin/sh' >> /etc/passwd
      echo 'alice:x:1234:' >> /etc/group
      (su alice -c 'id -u > /tmp/who' && echo su-ran >> /tmp/who) || echo su-denied >> /tmp/who
      touch /f && chown 1234:1234 /f && stat -c '%u:%g' /f > /owner
      wc -l < /proc/self/uid_map > /uid-map-lines
      id -u > /step-uid
      mkdir /locked && echo y > /locked/f && echo s > /secret && chmod 000 /locked /secret
workloads:
  show:
    command: [sh, -c, 'cat /tmp/who /owner /uid-map-lines /step-uid']
`;
const ID_ANSWERS = '0\nsu-ran\n0:0\n1\n0\n';

/** The pids of a process's children (runuser's one child, the CLI). */
function childrenOf(pid: number): number[] {
  const text = fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
  return text ? text.split(/\s+/).map(Number) : [];
}

interface UserBuild {
  who: string;
  home: string;
  dir: string;
  diffIds: string[];
  manifest: string;
}

/** A workspace with the spec and its copy source, owned by `user` (it writes strata.lock there). */
function makeWorkspace(root: string, user: string | undefined, spec: string): { home: string; dir: string } {
  const home = path.join(root, 'home');
  const dir = path.join(root, 'ws');
  fs.mkdirSync(home);
  writeSpec(dir, spec);
  fs.mkdirSync(path.join(dir, 'files'));
  fs.writeFileSync(path.join(dir, 'files', 'a.txt'), 'copied content\n', { mode: 0o644 });
  fs.chmodSync(path.join(dir, 'files', 'a.txt'), 0o644);
  fs.chmodSync(root, 0o755);
  if (user) execFileSync('chown', ['-R', `${user}:${user}`, home, dir]);
  return { home, dir };
}

async function buildAs(root: string, user?: string, spec = SPEC): Promise<UserBuild> {
  const { home, dir } = makeWorkspace(root, user, spec);
  const env = await cliEnv(home);
  const r = await runCli(['build', '--json'], { env, cwd: dir, user, timeoutMs: 300000 });
  ok(r, `build as ${user ?? 'the invoking user'}`);
  const { diffIds, manifest } = lockDigests(fs.readFileSync(path.join(dir, 'strata.lock'), 'utf8'));
  return { who: user ?? 'self', home, dir, diffIds, manifest };
}

async function runCheck(b: UserBuild, user?: string): Promise<void> {
  const r = await runCli(['run', 'check'], {
    env: await cliEnv(b.home),
    cwd: b.dir,
    user,
    timeoutMs: 120000,
  });
  ok(r, `run as ${b.who}`);
  assert.equal(
    r.stdout,
    'hello\nsecret\ncopied content\n/data/hello.txt\nno-vi\n',
    `workload output as ${b.who}`,
  );
}

/** The entries of the build's step layers (the base layer excluded), read from the blob. */
async function stepEntries(b: UserBuild, stepCount = 3): Promise<LayerEntry[]> {
  const store = openStore(b.home);
  const lock = fs.readFileSync(path.join(b.dir, 'strata.lock'), 'utf8');
  const steps = lock.slice(lock.indexOf('\nsteps:'));
  const layers = [...steps.matchAll(/digest: (sha256:[0-9a-f]{64}), diffId: (sha256:[0-9a-f]{64})/g)];
  assert.equal(layers.length, stepCount, `${stepCount} step layers in the lock:\n${lock}`);
  const out: LayerEntry[] = [];
  for (const [, digest, diffId] of layers) {
    const d = parseDigest(digest!);
    for await (const e of readLayer(store.openBlob(d), {
      compression: 'gzip',
      where: `layer ${digest}`,
      digest: d,
      diffId: parseDigest(diffId!),
    }))
      out.push(e.entry);
  }
  return out;
}

/** The ownership rule: every entry 0:0; modes, links and deletions as the steps made them. */
function assertLayerRule(entries: LayerEntry[], who: string): void {
  const owned = entries.filter((e) => e.uid !== 0 || e.gid !== 0).map((e) => `${e.path} ${e.uid}:${e.gid}`);
  assert.deepEqual(owned, [], `every owner is 0:0 in ${who}'s layers`);
  const byPath = new Map(entries.map((e) => [e.path, e]));
  assert.equal(byPath.get('data/private')?.mode, 0o700, 'chmod 700 kept');
  assert.equal(byPath.get('data/hello.txt')?.mode, 0o4755, 'setuid bit kept');
  assert.equal(byPath.get('srv/link')?.linkname, '/data/hello.txt');
  assert.equal(byPath.get('bin/vi')?.type, 'whiteout', 'the deleted base file is a whiteout');
  assert.equal(byPath.get('opt/files/a.txt')?.type, 'file');
}

describe('build: the same layers for every user', function () {
  before(function () {
    requirePrerequisites(this, {
      commands: ['docker-registry', 'skopeo', 'umoci', 'newuidmap'],
      files: [cliBundle, strataBox],
    });
  });
  const roots: string[] = [];
  afterEach(() => {
    if (!process.env.STRATA_TEST_KEEP) for (const r of roots.splice(0)) removeTree(r);
  });
  const tempRoot = (tag: string) => {
    const r = makeTempDir(`cross-${tag}`);
    roots.push(r);
    return r;
  };

  it('root, a single-id user and a subuid-range user get identical diff_ids and manifest, and each runs the workload', async function () {
    if (!isRoot()) {
      // The rootless pass: the comparison across users needs root to switch users; this user checks
      // its own build against the rule and against a second fresh store instead.
      const a = await buildAs(tempRoot('self-a'));
      const b = await buildAs(tempRoot('self-b'));
      assert.deepEqual(b.diffIds, a.diffIds, 'a fresh store gives the same diff_ids');
      assert.equal(b.manifest, a.manifest);
      assertLayerRule(await stepEntries(a), 'this user');
      await runCheck(a);
      return;
    }
    ensureTestUsers();
    const builds = [
      await buildAs(tempRoot('root')),
      await buildAs(tempRoot('single'), SINGLE_ID_USER),
      await buildAs(tempRoot('range'), RANGE_USER),
    ];
    for (const b of builds.slice(1)) {
      assert.deepEqual(b.diffIds, builds[0]!.diffIds, `${b.who}'s diff_ids equal root's`);
      assert.equal(b.manifest, builds[0]!.manifest, `${b.who}'s manifest digest equals root's`);
    }
    assert.equal(builds[0]!.diffIds.length, 4, 'base layer and three steps');
    assertLayerRule(await stepEntries(builds[2]!), RANGE_USER);

    // The range user's containers really map the range (else this test would prove nothing).
    const map = await runCli(['run', '--image', 'strata/crossuser', '--', 'cat', '/proc/self/uid_map'], {
      env: await cliEnv(builds[2]!.home),
      cwd: builds[2]!.dir,
      user: RANGE_USER,
    });
    ok(map, 'uid_map as the range user');
    assert.equal(map.stdout.trim().split('\n').length, 2, `two lines (own id and the range):\n${map.stdout}`);

    await runCheck(builds[0]!);
    await runCheck(builds[1]!, SINGLE_ID_USER);
    await runCheck(builds[2]!, RANGE_USER);
  });

  it('a step that su-s and chowns records the same answers for all three users, each step seeing a one-line uid_map', async function () {
    const users = isRoot() ? [undefined, (ensureTestUsers(), SINGLE_ID_USER), RANGE_USER] : [undefined];
    const builds: UserBuild[] = [];
    for (const [i, user] of users.entries()) builds.push(await buildAs(tempRoot(`ids-${i}`), user, ID_SPEC));
    for (const [i, b] of builds.entries()) {
      const r = await runCli(['run', 'show'], {
        env: await cliEnv(b.home),
        cwd: b.dir,
        user: users[i],
        timeoutMs: 120000,
      });
      ok(r, `run as ${b.who}`);
      assert.equal(
        r.stdout,
        ID_ANSWERS,
        `what the step recorded when ${b.who} built (su, chown, uid_map lines, id -u)`,
      );
    }
    for (const b of builds.slice(1)) {
      assert.deepEqual(b.diffIds, builds[0]!.diffIds, `${b.who}'s diff_ids equal root's`);
      assert.equal(b.manifest, builds[0]!.manifest, `${b.who}'s manifest digest equals root's`);
    }
    const layer = new Map((await stepEntries(builds[builds.length - 1]!, 1)).map((e) => [e.path, e]));
    assert.equal(layer.get('locked')?.mode, 0, 'the mode-000 folder is in the layer');
    assert.equal(layer.get('locked/f')?.type, 'file', 'with its file');
    assert.equal(layer.get('secret')?.mode, 0);
    if (!isRoot()) return;
    // The control: the range user's workloads keep the range, and there the same commands give
    // other answers, which is what the build's single-id steps avoid.
    const range = builds[2]!;
    const control = await runCli(
      [
        'run',
        '--image',
        'strata/crossids',
        '--',
        'sh',
        '-c',
        "su alice -c 'id -u'; touch /g && chown 1234:1234 /g && stat -c '%u:%g' /g; wc -l < /proc/self/uid_map",
      ],
      { env: await cliEnv(range.home), cwd: range.dir, user: RANGE_USER },
    );
    ok(control, 'workload as the range user');
    assert.equal(control.stdout, '1234\n1234:1234\n2\n', 'a workload of the range user maps the range');
  });

  it('an apt step gives the same layers for all three users too', async function () {
    if (!debianSeeded) {
      console.log('    skipped: STRATA_TEST_DEBIAN=0 (the registry has no debian:bookworm)');
      this.skip();
    }
    this.timeout(900000);
    const builds = isRoot()
      ? [
          await buildAs(tempRoot('apt-root'), undefined, APT_SPEC),
          await buildAs(tempRoot('apt-single'), (ensureTestUsers(), SINGLE_ID_USER), APT_SPEC),
          await buildAs(tempRoot('apt-range'), RANGE_USER, APT_SPEC),
        ]
      : [await buildAs(tempRoot('apt-self'), undefined, APT_SPEC)];
    for (const b of builds.slice(1)) {
      assert.deepEqual(b.diffIds, builds[0]!.diffIds, `${b.who}'s diff_ids equal root's`);
      assert.equal(b.manifest, builds[0]!.manifest, `${b.who}'s manifest digest equals root's`);
    }
    const entries = await stepEntries(builds[builds.length - 1]!, 2);
    const owned = entries.filter((e) => e.uid !== 0 || e.gid !== 0).map((e) => e.path);
    assert.deepEqual(owned, [], 'every owner is 0:0');
    assert.ok(
      entries.some((e) => e.path === 'usr/bin/hello'),
      'the apt layer holds the package',
    );
    for (const [i, b] of builds.entries()) {
      const user = i === 1 ? SINGLE_ID_USER : i === 2 ? RANGE_USER : undefined;
      const r = await runCli(['run', 'greet'], {
        env: await cliEnv(b.home),
        cwd: b.dir,
        user,
        timeoutMs: 120000,
      });
      ok(r, `run as ${b.who}`);
      assert.equal(r.stdout, 'Hello, world!\n');
    }
  });

  it('gc removes a killed build step of any user, and files of subordinate ids an older version left', async function () {
    const user = isRoot() ? (ensureTestUsers(), RANGE_USER) : undefined;
    const spec = `strata: 1
name: killed
from: docker.io/library/busybox:latest
steps:
  - run: mkdir /x && echo f > /x/f && chown 42:42 /x/f /x && chmod 700 /x && touch /ready && sleep 60
`;
    const { home, dir } = makeWorkspace(tempRoot('killed'), user, spec);
    const env = await cliEnv(home);
    const [file, argv] = asUserArgv(process.execPath, [cliBundle, 'build'], user);
    const child = spawn(file, argv, {
      cwd: dir,
      env: { ...process.env, ...env, HOME: user ? `/home/${user}` : (process.env.HOME ?? '/') },
      stdio: 'ignore',
    });
    const tmp = path.join(home, 'tmp');
    const stepDir = () => (fs.existsSync(tmp) ? fs.readdirSync(tmp) : []).find((n) => n.startsWith('step-'));
    while (!(stepDir() && fs.existsSync(path.join(tmp, stepDir()!, 'upper', 'ready'))))
      await new Promise((r) => setTimeout(r, 50));
    const left = stepDir()!;
    // The node process (under runuser when switching users) is killed outright: no cleanup runs.
    const node = user ? childrenOf(child.pid!)[0]! : child.pid!;
    const exited = new Promise((r) => child.once('exit', r));
    process.kill(node, 'SIGKILL');
    await exited;
    assert.ok(fs.existsSync(path.join(tmp, left, 'upper', 'x')), 'the killed step left its upper dir');
    // Build steps map one id for every user (--single-id): the chown was faked, so the folder
    // belongs to the user, the range user included.
    assert.equal(fs.statSync(path.join(tmp, left, 'upper', 'x')).uid, user ? uidOf(user) : process.getuid!());

    // What a killed step of an older Strata (range users' steps mapped the range) left: files of
    // subordinate ids, which the user can remove only through a namespace mapping the range.
    const dead = Number(execFileSync('sh', ['-c', 'echo $$']).toString().trim());
    const old = path.join(tmp, `step-${dead}-01d5fe9a`);
    if (user) {
      for (const d of ['upper', 'work']) fs.mkdirSync(path.join(old, d), { recursive: true });
      execFileSync('chown', ['-R', `${user}:${user}`, old]);
      const base = fs.readdirSync(path.join(home, 'layers', 'sha256')).find((n) => /^[0-9a-f]{64}$/.test(n))!;
      const made = await runAsUnprivileged(
        strataBox,
        [
          ...['run', '--lower', path.join(home, 'layers', 'sha256', base)],
          ...['--upper', path.join(old, 'upper'), '--work', path.join(old, 'work')],
          ...['--', '/bin/sh', '-c', 'mkdir /x && echo f > /x/f && chown 42:42 /x/f /x && chmod 700 /x'],
        ],
        { user },
      );
      assert.equal(made.code, 0, made.stderr);
      assert.equal(
        fs.statSync(path.join(old, 'upper', 'x')).uid,
        400000 + 41,
        'the old step left a folder of a subordinate id, which the user cannot remove as itself',
      );
    }

    // Root's files in the user's store (a `sudo strata pull` gone wrong) are beyond the user's
    // reach even through the range: gc names them, removes the rest and exits 1.
    const foreign = path.join(tmp, `ingest-${dead}-0123456789ab`);
    if (user) {
      fs.mkdirSync(path.join(foreign, 'sub'), { recursive: true });
      fs.writeFileSync(path.join(foreign, 'sub', 'f'), 'root owns this');
    }

    const gc = await runCli(['gc', '--json'], { env, cwd: dir, user });
    const report = JSON.parse(gc.stdout.trim().split('\n').pop()!) as {
      removedTemp: number;
      notRemoved: string[];
    };
    assert.ok(report.removedTemp >= 1, gc.stdout);
    assert.ok(!fs.existsSync(path.join(tmp, left)), `${left} is gone`);
    assert.ok(!fs.existsSync(old), `${path.basename(old)} is gone`);
    if (user) {
      assert.equal(gc.code, 1, gc.stderr);
      assert.match(gc.stderr, new RegExp(`could not remove tmp/ingest-${dead}-0123456789ab`));
      assert.equal(report.notRemoved.length, 1);
      assert.ok(fs.existsSync(foreign));
      const repair = await runCli(['fsck', '--repair'], { env, cwd: dir, user });
      assert.equal(repair.code, 1, repair.stdout);
      assert.match(
        repair.stderr,
        /could not repair tmp\/ingest-\d+-0123456789ab: left by a process that is gone/,
      );
    } else ok(gc, 'gc');
  });
});
