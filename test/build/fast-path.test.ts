// The native fast path (native/front/, engine/plan/): a repeated no-change `strata build` and a
// repeated `strata run` are replayed from a plan without Node, with the same output, exit codes
// and run records; every change to what they rest on sends the command back to Node, which then
// gives the right result. Runs as root and again as the unprivileged user (test/run-all.ts).
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { RunRecord } from '../../server/src/engine/run/records';
import { cliBundle, removeTree, requirePrerequisites, strataBox, useTempStrataHome } from '../support';
import { copyExample, listDir, lockDigests, ok, writeSpec } from './helpers';
import {
  assertNode,
  assertReplayed,
  front,
  launcher,
  readJson,
  settle,
  viaLauncher,
  withoutElapsed,
} from './fast-path-support';

/** Builds through Node until a plan exists: the first build writes the lock, the second the plan. */
async function primeBuild(home: string, dir: string, args: string[] = ['build']): Promise<string> {
  ok(await viaLauncher(args, home, dir), 'first build');
  await settle();
  const second = await viaLauncher(args, home, dir);
  ok(second, 'second build');
  return second.stdout;
}

function stepLines(stdout: string): string[] {
  return stdout.split('\n').filter((l) => l.startsWith('step '));
}

describe('fast path: no-change build', function () {
  before(function () {
    requirePrerequisites(this, {
      commands: ['docker-registry', 'skopeo', 'umoci'],
      files: [cliBundle, strataBox, front],
    });
  });
  const env = useTempStrataHome();

  it('replays a no-change build with the text Node printed, and leaves the lock alone', async function () {
    const dir = copyExample('quickstart', env.workspace);
    const nodeText = await primeBuild(env.home, dir);
    const lock = path.join(dir, 'strata.lock');
    const before = fs.statSync(lock, { bigint: true });
    const fast = await viaLauncher(['build'], env.home, dir);
    ok(fast, 'replayed build');
    assertReplayed(fast, 'no-change build');
    assert.equal(withoutElapsed(fast.stdout), withoutElapsed(nodeText));
    assert.match(fast.stdout, /step 1\/1: copy: \.\/src -> \/opt\/hello: cached/);
    assert.match(fast.stdout, /done in [0-9.]+ m?s: 0 step\(s\) run, 1 cached\n$/);
    const after = fs.statSync(lock, { bigint: true });
    assert.equal(after.mtimeNs, before.mtimeNs);
    assert.equal(after.ino, before.ino);
  });

  it("replays whichever way the launcher is reached: npm's .bin symlink, a relative path", async function () {
    // bin/strata resolves only a symlink (readlink costs a process); the front end canonicalizes
    // the install path, which is part of a plan's key, so every way finds the same plan.
    const dir = copyExample('quickstart', env.workspace);
    await primeBuild(env.home, dir);
    const bin = path.join(dir, 'node_modules', '.bin');
    fs.mkdirSync(bin, { recursive: true });
    fs.symlinkSync(path.relative(bin, launcher), path.join(bin, 'strata'));
    for (const program of [
      path.join(bin, 'strata'),
      './node_modules/.bin/strata',
      path.relative(dir, launcher),
    ]) {
      const r = await viaLauncher(['build'], env.home, dir, {}, program);
      ok(r, program);
      assertReplayed(r, program);
    }
  });

  it('replays --json output as NDJSON events with the same content', async function () {
    const dir = copyExample('quickstart', env.workspace);
    const nodeText = await primeBuild(env.home, dir, ['build', '--json']);
    const fast = await viaLauncher(['build', '--json'], env.home, dir);
    ok(fast, 'replayed build');
    assertReplayed(fast, 'no-change build --json');
    assert.equal(withoutElapsed(fast.stdout), withoutElapsed(nodeText));
    const events = fast.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; ran?: number });
    assert.equal(events.at(-1)?.type, 'done');
    assert.equal(events.at(-1)?.ran, 0);
  });

  it('replays on a terminal too: the progress lines with colours, and a run with a TTY', async function () {
    requirePrerequisites(this, { commands: ['script'] });
    const dir = copyExample('quickstart', env.workspace);
    // script(1) gives the command a pseudo-terminal for stdin, stdout and stderr (all in its stdout).
    const onTerminal = async (args: string) => {
      const r = await viaLauncher(
        ['-qec', `${launcher} ${args}`, '/dev/null'],
        env.home,
        dir,
        { NO_COLOR: '' },
        'script',
      );
      return { ...r, stderr: r.stdout };
    };
    ok(await onTerminal('build'), 'first build on a terminal');
    await settle();
    const nodeText = await onTerminal('build');
    ok(nodeText, 'second build on a terminal');
    assertNode(nodeText, 'second build on a terminal');
    const fast = await onTerminal('build');
    ok(fast, 'replayed build on a terminal');
    assertReplayed(fast, 'build on a terminal');
    assert.match(fast.stdout, /\x1b\[2m\[1\/1\]\x1b\[0m copy: \.\/src -> \/opt\/hello/);
    assert.match(fast.stdout, /built strata\/quickstart sha256:[0-9a-f]{64} in [0-9.]+ m?s/);
    assert.equal(withoutElapsed(fast.stdout), withoutElapsed(nodeText.stdout));

    ok(await onTerminal('run hello'), 'run with a TTY through Node');
    const run = await onTerminal('run hello');
    ok(run, 'replayed run with a TTY');
    assertReplayed(run, 'run with a TTY');
    assert.match(run.stdout, /hello from/);
  });

  it('goes back to Node after each change to what the build rests on, and Node gets it right', async function () {
    const dir = copyExample('quickstart', env.workspace);
    const spec = path.join(dir, 'strata.yaml');
    const script = path.join(dir, 'src', 'hello.sh');
    const lock = path.join(dir, 'strata.lock');
    await primeBuild(env.home, dir);
    assertReplayed(await viaLauncher(['build'], env.home, dir), 'primed');

    // Each change, then: Node runs (with the step statuses the change calls for), then the next
    // no-change build (after Node left a new plan) is replayed again.
    const changes: { what: string; change: () => void; steps: string }[] = [
      {
        what: 'editing the spec',
        change: () => fs.appendFileSync(spec, '# a comment\n'),
        steps: 'cached',
      },
      {
        what: 'editing a copied file',
        change: () => fs.appendFileSync(script, 'echo edited\n'),
        steps: 'done',
      },
      {
        what: 'adding a copied file',
        change: () => fs.writeFileSync(path.join(dir, 'src', 'extra.txt'), 'more\n'),
        steps: 'done',
      },
      {
        what: 'removing a copied file',
        change: () => fs.rmSync(path.join(dir, 'src', 'extra.txt')),
        steps: 'cached',
      },
      {
        what: 'touching the lock',
        change: () => fs.utimesSync(lock, new Date(), new Date()),
        steps: 'cached',
      },
      {
        what: 'deleting the lock',
        change: () => fs.rmSync(lock),
        steps: 'cached',
      },
      {
        what: 'removing a layer tree',
        change: () => {
          // The base layer's tree (the one every build of this spec stacks on).
          const base = lockDigests(fs.readFileSync(lock, 'utf8')).diffIds[0]!;
          removeTree(path.join(env.home, 'layers', 'sha256', base.slice('sha256:'.length)));
        },
        steps: 'cached',
      },
    ];
    for (const c of changes) {
      await settle();
      c.change();
      const after = await viaLauncher(['build'], env.home, dir);
      ok(after, `build after ${c.what}`);
      assertNode(after, c.what);
      const status = stepLines(after.stdout).at(-1) ?? '';
      if (c.steps === 'cached') assert.match(status, /: cached$/, `${c.what}: ${after.stdout}`);
      else assert.match(status, /done in/, `${c.what}: ${after.stdout}`);
      assert.ok(fs.existsSync(lock), `${c.what}: the lock is there again`);
      await settle();
      ok(await viaLauncher(['build'], env.home, dir), `rebuild after ${c.what}`);
      await settle();
      assertReplayed(await viaLauncher(['build'], env.home, dir), `after ${c.what} and a Node build`);
    }

    // Another store has no plan (and builds there through Node).
    const otherHome = path.join(path.dirname(env.home), 'other-home');
    fs.mkdirSync(otherHome);
    const other = await viaLauncher(['build'], otherHome, dir);
    ok(other, 'build in another store');
    assertNode(other, 'another STRATA_HOME');
  });

  it('goes back to Node when the image name was rebuilt to another manifest', async function () {
    const dir = copyExample('quickstart', env.workspace);
    const spec = path.join(dir, 'strata.yaml');
    const original = fs.readFileSync(spec, 'utf8');
    await primeBuild(env.home, dir);
    const first = await viaLauncher(['build', '--json'], env.home, dir);
    // A second spec with the same name in another folder retags strata/quickstart.
    const twin = path.join(env.workspace, 'twin');
    writeSpec(
      twin,
      original.replace(/steps:[\s\S]*?workdir:/, 'steps:\n  - run: echo twin > /twin\nworkdir:'),
    );
    fs.mkdirSync(path.join(twin, 'results'));
    ok(await viaLauncher(['build'], env.home, twin), 'twin build');
    await settle();
    const back = await viaLauncher(['build'], env.home, dir);
    ok(back, 'rebuild after the name moved');
    assertNode(back, 'image name retagged');
    assert.match(back.stdout, /step 1\/1: .*: cached/);
    assert.ok(first.stdout.length > 0);
  });
});

describe('fast path: run', function () {
  before(function () {
    requirePrerequisites(this, {
      commands: ['docker-registry', 'skopeo', 'umoci'],
      files: [cliBundle, strataBox, front],
    });
  });
  const env = useTempStrataHome();

  function records(): RunRecord[] {
    const dir = path.join(env.home, 'runs');
    // In the order they ran (ids sort by the second only).
    return listDir(dir)
      .filter((n) => n.endsWith('.json'))
      .map((n) => readJson<RunRecord>(path.join(dir, n)))
      .sort((x, y) => Date.parse(x.startedAt) - Date.parse(y.startedAt));
  }

  /** The parts of a record that do not change from one run to the next. */
  function stable(r: RunRecord) {
    return {
      spec: r.spec,
      workload: r.workload,
      image: r.image,
      lock: r.lock,
      command: r.command,
      env: r.env,
      workdir: r.workdir,
      mounts: r.mounts,
      network: r.network,
      resources: r.resources,
      host: r.host,
      exit: r.exit,
      outputs: r.outputs,
    };
  }

  it('replays a run: same output, same record keys and digests, scratch dir and lease gone', async function () {
    const dir = copyExample('quickstart', env.workspace);
    ok(await viaLauncher(['build'], env.home, dir), 'build');
    await settle();
    const nodeRun = await viaLauncher(['run', 'hello'], env.home, dir);
    ok(nodeRun, 'node run');
    assertNode(nodeRun, 'first run');
    const fast = await viaLauncher(['run', 'hello'], env.home, dir);
    ok(fast, 'replayed run');
    assertReplayed(fast, 'second run');
    assert.equal(fast.stdout, nodeRun.stdout);
    const [a, b] = records();
    assert.ok(a && b, 'two records');
    assert.deepEqual(Object.keys(b), Object.keys(a));
    assert.deepEqual(Object.keys(b.rusage ?? {}), Object.keys(a.rusage ?? {}));
    assert.deepEqual(stable(b), stable(a));
    assert.equal(b.outputs.length, 2);
    assert.ok(Date.parse(b.startedAt) <= Date.parse(b.endedAt));
    assert.deepEqual(listDir(path.join(env.home, 'tmp')), ['locks']);
    assert.deepEqual(
      listDir(path.join(env.home, 'tmp', 'locks')).filter(
        (n) => n.startsWith('lease-') || n.startsWith('shared-'),
      ),
      [],
    );
    // strata runs reads both records.
    const list = await viaLauncher(['runs'], env.home, dir);
    ok(list, 'strata runs');
    assert.match(list.stdout, new RegExp(b.id));
    const show = await viaLauncher(['runs', 'show', b.id], env.home, dir);
    ok(show, 'strata runs show');
    assert.match(show.stdout, new RegExp(`image     strata/quickstart ${b.image.manifest}`));
  });

  it('does not replay another workload, extra command args, an edited spec or a removed layer tree', async function () {
    const dir = copyExample('quickstart', env.workspace);
    ok(await viaLauncher(['build'], env.home, dir), 'build');
    await settle();
    ok(await viaLauncher(['run', 'hello'], env.home, dir), 'node run');
    assertReplayed(await viaLauncher(['run', 'hello'], env.home, dir), 'primed');

    const args = await viaLauncher(['run', 'hello', '--', 'echo', 'other'], env.home, dir);
    ok(args, 'run with a command');
    assertNode(args, 'extra command args');
    assert.equal(args.stdout, 'other\n');
    const noName = await viaLauncher(['run'], env.home, dir);
    ok(noName, 'run without the workload name');
    assertNode(noName, 'another command line');

    fs.appendFileSync(path.join(dir, 'strata.yaml'), '# edited\n');
    const edited = await viaLauncher(['run', 'hello'], env.home, dir);
    ok(edited, 'run after editing the spec');
    assertNode(edited, 'edited spec');
    assert.match(edited.stdout, /hello from/);

    await settle();
    ok(await viaLauncher(['run', 'hello'], env.home, dir), 'node run again');
    assertReplayed(await viaLauncher(['run', 'hello'], env.home, dir), 'primed again');
    const layers = path.join(env.home, 'layers', 'sha256');
    for (const n of listDir(layers)) if (!n.endsWith('.json')) removeTree(path.join(layers, n));
    const gone = await viaLauncher(['run', 'hello'], env.home, dir);
    ok(gone, 'run after removing the layer trees');
    assertNode(gone, 'layer trees removed');
    assert.match(gone.stdout, /hello from/);
  });

  it('returns the same exit codes and records through both paths: 0, 3, 126, 127 and a signal kill', async function () {
    const dir = path.join(env.workspace, 'codes');
    writeSpec(
      dir,
      `strata: 1
name: codes
from: docker.io/library/busybox:1.35
workloads:
  zero: { command: [true] }
  three: { command: [sh, -c, 'exit 3'] }
  noexec: { command: [/etc/passwd] }
  missing: { command: [/no/such/command] }
  killed: { command: [sh, -c, 'kill -9 $$'] }
`,
    );
    ok(await viaLauncher(['build'], env.home, dir), 'build');
    await settle();
    const expected: Record<string, number> = { zero: 0, three: 3, noexec: 126, missing: 127, killed: 137 };
    for (const [workload, code] of Object.entries(expected)) {
      const before = records().length;
      const slow = await viaLauncher(['run', workload], env.home, dir);
      assertNode(slow, workload);
      assert.equal(slow.code, code, `${workload} through Node: ${slow.stderr}`);
      const fast = await viaLauncher(['run', workload], env.home, dir);
      assertReplayed(fast, workload);
      assert.equal(fast.code, code, `${workload} through the front end: ${fast.stderr}`);
      const [a, b] = records().slice(before);
      assert.ok(a && b, `${workload}: a record from each path`);
      assert.deepEqual(b.exit, a.exit);
      assert.deepEqual(Object.keys(b), Object.keys(a));
      assert.deepEqual(stable(b), stable(a));
    }
    const killed = records().filter((r) => r.workload === 'killed');
    assert.equal(killed[0]?.exit.signal, 'signal 9');
  });
});
