// Ctrl-C (SIGINT) or SIGTERM to `strata run` stops the container and still writes the run record,
// marked interrupted, through Node and through the native front end alike; nothing is left in
// the store's tmp/. Runs as root and again as the unprivileged user (test/run-all.ts).
import * as assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { RunRecord } from '../../server/src/engine/run/records';
import { liveLeaseRoots } from '../../server/src/engine/store/lock';
import { cliBundle, requirePrerequisites, strataBox, useTempStrataHome } from '../support';
import { cliEnv, listDir, ok, writeSpec } from './helpers';
import {
  assertReplayed,
  front,
  launcher,
  launcherEnv,
  readJson,
  settle,
  viaLauncher,
} from './fast-path-support';

// Holds (sleeps) only while results/hold exists, so that the plan can be made by a quick run.
const SPEC = `strata: 1
name: hold
from: docker.io/library/busybox:1.35
workdir: /job
mounts:
  - { src: ./results, dest: /job/results }
workloads:
  hold:
    command: [sh, -c, 'if [ -f results/hold ]; then echo started > results/started; sleep 60; fi; echo quick']
`;

interface Ended {
  code: number | null;
  stderr: string;
}

function start(
  file: string,
  args: string[],
  cwd: string,
  env: NodeJS.ProcessEnv,
): { child: ChildProcess; ended: Promise<Ended> } {
  const child = spawn(file, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdout!.resume();
  const ended = new Promise<Ended>((resolve) => child.on('close', (code) => resolve({ code, stderr })));
  return { child, ended };
}

/** Waits until the workload wrote results/started (or the run ended first: then it fails). */
async function started(file: string, ended: Promise<Ended>): Promise<void> {
  let done: Ended | undefined;
  void ended.then((e) => (done = e));
  while (!fs.existsSync(file)) {
    if (done) assert.fail(`the run ended before the workload started: ${done.code}\n${done.stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('run: interrupted runs are recorded', function () {
  before(function () {
    requirePrerequisites(this, {
      commands: ['docker-registry', 'skopeo', 'umoci'],
      files: [cliBundle, strataBox, front],
    });
  });
  const env = useTempStrataHome();

  function onlyRecord(): RunRecord {
    const dir = path.join(env.home, 'runs');
    const names = listDir(dir).filter((n) => n.endsWith('.json'));
    return readJson<RunRecord>(path.join(dir, names.at(-1)!));
  }

  function recordsOf(workdir: string): RunRecord[] {
    const dir = path.join(env.home, 'runs');
    return listDir(dir)
      .filter((n) => n.endsWith('.json'))
      .map((n) => readJson<RunRecord>(path.join(dir, n)))
      .filter((r) => r.spec === path.join(workdir, 'strata.yaml'))
      .sort((x, y) => Date.parse(x.startedAt) - Date.parse(y.startedAt));
  }

  async function prepare(): Promise<string> {
    const dir = path.join(env.workspace, 'hold');
    writeSpec(dir, SPEC);
    fs.mkdirSync(path.join(dir, 'results'));
    ok(await viaLauncher(['build'], env.home, dir), 'build');
    await settle();
    return dir;
  }

  it('through Node: SIGINT stops the workload, the record says interrupted, exit 130', async function () {
    const dir = await prepare();
    fs.writeFileSync(path.join(dir, 'results', 'hold'), '');
    const runEnv = { ...process.env, ...(await cliEnv(env.home)) };
    const { child, ended } = start(process.execPath, [cliBundle, 'run', 'hold'], dir, runEnv);
    await started(path.join(dir, 'results', 'started'), ended);
    child.kill('SIGINT');
    const end = await ended;
    assert.equal(end.code, 130, end.stderr);
    const record = onlyRecord();
    assert.deepEqual(record.exit, { code: 130, interrupted: 'SIGINT' });
    assert.equal(record.workload, 'hold');
    assert.match(record.image.manifest, /^sha256:[0-9a-f]{64}$/);
    assert.deepEqual(listDir(path.join(env.home, 'tmp')), ['locks']);
  });

  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    it(`through the native front end: ${signal} stops the workload, the record says interrupted, exit 130`, async function () {
      const dir = await prepare();
      ok(await viaLauncher(['run', 'hold'], env.home, dir), 'quick run through Node (makes the plan)');
      fs.writeFileSync(path.join(dir, 'results', 'hold'), '');
      const { child, ended } = start(launcher, ['run', 'hold'], dir, await launcherEnv(env.home));
      await started(path.join(dir, 'results', 'started'), ended);
      // While it runs, its lease keeps the image from gc, in the store's own protocol.
      const locks = path.join(env.home, 'tmp', 'locks');
      const leased = liveLeaseRoots(locks);
      child.kill(signal);
      const end = await ended;
      assertReplayed({ code: end.code, signal: null, stdout: '', stderr: end.stderr }, 'held run');
      assert.equal(end.code, 130, end.stderr);
      const [quick, held] = recordsOf(dir);
      assert.ok(quick && held, 'a record of each run');
      assert.deepEqual(held.exit, { code: 130, interrupted: signal });
      assert.deepEqual(leased, [held.image.manifest]);
      assert.deepEqual(Object.keys(held), Object.keys(quick));
      assert.equal(held.image.manifest, quick.image.manifest);
      assert.deepEqual(held.lock, quick.lock);
      assert.deepEqual(listDir(path.join(env.home, 'tmp')), ['locks']);
      assert.deepEqual(
        listDir(path.join(env.home, 'tmp', 'locks')).filter((n) => n.startsWith('lease-')),
        [],
      );
    });
  }
});
