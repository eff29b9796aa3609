// The build commands through the protocol, against the real engine, strata-box and a registry on
// loopback: strata.build with work-done progress and strata/status, a failing step shown as a
// diagnostic on that step, cancellation that stops the build and leaves nothing behind, verify.
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  CancellationTokenSource,
  ExecuteCommandRequest,
  LSPErrorCodes,
  ResponseError,
  WorkDoneProgress,
  WorkDoneProgressCancelNotification,
  type WorkDoneProgressBegin,
  type WorkDoneProgressReport,
} from 'vscode-languageserver-protocol/node';
import {
  EnvironmentInfoRequest,
  type BuildResult,
  type EnvironmentInfo,
  type EnvironmentInfoExtras,
  type StatusParams,
} from '../../../server/src/protocol';
import {
  makeTempDir,
  mirrorEnv,
  removeTree,
  requirePrerequisites,
  runCli,
  serverBundle,
  sharedRegistry,
  strataBox,
} from '../../support';
import { startServer, type ServerProcess } from './lspClient';
import { Workspace } from './workspace';

const spec = (steps: string) =>
  [
    'strata: 1',
    'name: lsp-build',
    'from: docker.io/library/busybox:1.35',
    'steps:',
    '  - copy: { src: ./src, dest: /opt/app }',
    steps,
    'workloads:',
    '  hello: { command: [sh, /opt/app/hello.sh] }',
    '',
  ].join('\n');

describe('language server build commands (real engine and registry)', function () {
  let ws: Workspace;
  let home: string;
  let server: ServerProcess;

  before(function () {
    requirePrerequisites(this, {
      commands: ['docker-registry', 'skopeo', 'umoci'],
      files: [serverBundle, strataBox],
    });
  });

  beforeEach(async () => {
    const reg = await sharedRegistry();
    ws = new Workspace();
    home = makeTempDir('lsp-home');
    ws.file('src/hello.sh', 'echo hello\n');
    server = await startServer(process.execPath, [serverBundle, '--stdio'], {
      env: { ...process.env, STRATA_HOME: home, ...mirrorEnv(reg.host) },
      initializationOptions: { trusted: true },
    });
  });

  afterEach(async () => {
    await server.stop();
    ws.remove();
    removeTree(home);
  });

  async function openSpec(text: string): Promise<string> {
    ws.file('strata.yaml', text);
    const uri = ws.uri('strata.yaml');
    const first = server.nextDiagnostics(uri);
    server.open(uri, text);
    await first;
    return uri;
  }

  function infoOf(uri: string): Promise<EnvironmentInfo & EnvironmentInfoExtras> {
    return server.connection.sendRequest(EnvironmentInfoRequest.type, { uri });
  }

  function progressOf(token: string): (WorkDoneProgressBegin | WorkDoneProgressReport | { kind: 'end' })[] {
    const seen: (WorkDoneProgressBegin | WorkDoneProgressReport | { kind: 'end' })[] = [];
    server.connection.onProgress(WorkDoneProgress.type, token, (v) => seen.push(v));
    return seen;
  }

  it('builds with progress, writes strata.lock, and the no-lock information goes away', async function () {
    const uri = await openSpec(spec('  - run: echo built > /opt/app/built.txt'));
    assert.deepEqual(
      server.latestDiagnostics(uri)!.map((d) => d.code),
      ['no-lock'],
    );
    const progress = progressOf('build-1');
    const cleared = server.nextDiagnostics(uri);
    const result = (await server.connection.sendRequest(ExecuteCommandRequest.type, {
      command: 'strata.build',
      arguments: [uri],
      workDoneToken: 'build-1',
    })) as BuildResult;
    assert.equal(result.state, 'locked');
    assert.match(result.imageDigest!, /^sha256:[0-9a-f]{64}$/);
    assert.equal(result.lockUri, ws.uri('strata.lock'));
    assert.ok(fs.existsSync(path.join(ws.dir, 'strata.lock')));
    assert.equal(progress[0].kind, 'begin');
    assert.equal(progress.at(-1)!.kind, 'end');
    const messages = progress
      .filter((p): p is WorkDoneProgressReport => p.kind === 'report')
      .map((p) => p.message ?? '');
    assert.ok(
      messages.some((m) => /^step 2\/2: run/.test(m)),
      messages.join('\n'),
    );
    assert.deepEqual((await cleared).diagnostics, []);
    const states = server.notifications
      .filter((n) => n.method === 'strata/status')
      .map((n) => (n.params as StatusParams).state);
    assert.ok(states.includes('building') && states.at(-1) === 'locked', states.join(' '));
    // Verify rebuilds from the lock and compares: the same bits.
    const verified = (await server.connection.sendRequest(ExecuteCommandRequest.type, {
      command: 'strata.verify',
      arguments: [uri],
    })) as BuildResult;
    assert.equal(verified.state, 'reproduced');
    assert.deepEqual(verified.drift, []);
  });

  it('shows a failed step as an error diagnostic on that step', async function () {
    const uri = await openSpec(spec('  - run: echo about to fail; exit 3'));
    const error = await server.connection
      .sendRequest(ExecuteCommandRequest.type, { command: 'strata.build', arguments: [uri] })
      .then(
        () => undefined,
        (e: unknown) => e as ResponseError<{ code: string }>,
      );
    assert.ok(error instanceof ResponseError, 'the build must fail');
    assert.equal(error.data?.code, 'BUILD');
    const diagnostics = await server.nextDiagnostics(uri);
    const d = diagnostics.diagnostics.find((x) => x.code === 'build-failed');
    assert.ok(d, JSON.stringify(diagnostics.diagnostics));
    assert.equal(d.range.start.line, 5, 'on the run step');
    assert.equal(d.severity, 1);
    assert.match(d.message, /build failed/);
    const status = await server.notification<StatusParams>('strata/status', (p) => p.state === 'failed');
    assert.equal(status.uri, uri);
    // The revalidation after the build (the diagnostics above) keeps 'failed': no 'not-built' follows
    // it. The request is a round trip, so every notification sent before its answer has arrived.
    const info = await infoOf(uri);
    assert.equal(info.state, 'failed');
    const statesOf = (from: number) =>
      server.notifications
        .slice(from)
        .filter((n) => n.method === 'strata/status' && (n.params as StatusParams).uri === uri)
        .map((n) => (n.params as StatusParams).state);
    assert.equal(statesOf(0).at(-1), 'failed', statesOf(0).join(' '));
    // Changing the spec ends it: the state is the lock's again (none yet) and the step's
    // build-failed diagnostic goes with it.
    const mark = server.notifications.length;
    const edited = server.nextDiagnostics(uri, 50);
    server.change(uri, 50, [{ text: spec('  - run: echo fixed') }]);
    assert.deepEqual(
      (await edited).diagnostics.map((d) => d.code),
      ['no-lock'],
    );
    const after = await infoOf(uri);
    assert.equal(after.state, 'not-built');
    assert.deepEqual(statesOf(mark), ['not-built']);
  });

  it('keeps failed for a spec that is not open until its file changes', async function () {
    ws.file('strata.yaml', spec('  - run: exit 4'));
    const uri = ws.uri('strata.yaml');
    await assert.rejects(
      server.connection.sendRequest(ExecuteCommandRequest.type, {
        command: 'strata.build',
        arguments: [uri],
      }),
      (e: unknown) => e instanceof ResponseError && (e.data as { code?: string })?.code === 'BUILD',
    );
    assert.equal((await infoOf(uri)).state, 'failed');
    ws.file('strata.yaml', spec('  - run: exit 0'));
    assert.equal((await infoOf(uri)).state, 'not-built');
  });

  it('lists the runs of this spec (from the run records) in environmentInfo, newest first', async function () {
    const uri = await openSpec(spec('  - run: echo built > /opt/app/built.txt'));
    await server.connection.sendRequest(ExecuteCommandRequest.type, {
      command: 'strata.build',
      arguments: [uri],
    });
    const before = await infoOf(uri);
    assert.deepEqual(before.runs, []);
    const env = { STRATA_HOME: home };
    const ran = await runCli(['run', 'hello'], { cwd: ws.dir, env });
    assert.equal(ran.code, 0, ran.stderr);
    const failing = await runCli(['run', '--', 'sh', '-c', 'exit 5'], { cwd: ws.dir, env });
    assert.equal(failing.code, 5, failing.stderr);
    const info = await infoOf(uri);
    const runs = info.runs ?? [];
    assert.equal(runs.length, 2, JSON.stringify(runs));
    const hello = runs.find((r) => r.workload === 'hello');
    assert.ok(hello, JSON.stringify(runs));
    assert.equal(hello.exitCode, 0);
    assert.match(hello.id, /^[0-9]{8}-[0-9]{6}-[0-9a-f]{6}$/);
    assert.equal(path.dirname(hello.recordPath), path.join(home, 'runs'));
    const record = JSON.parse(fs.readFileSync(hello.recordPath, 'utf8')) as { id: string; spec: string };
    assert.equal(record.id, hello.id);
    assert.equal(record.spec, path.join(ws.dir, 'strata.yaml'));
    assert.equal(runs[0].exitCode, 5, 'the newest run first');
    assert.ok(runs[0].startedAt >= runs[1].startedAt);
    // Another spec's environmentInfo does not list this spec's runs.
    const other = new Workspace();
    try {
      other.file('strata.yaml', spec('  - run: true'));
      const elsewhere = await infoOf(other.uri('strata.yaml'));
      assert.deepEqual(elsewhere.runs, []);
    } finally {
      other.remove();
    }
  });

  for (const how of ['$/cancelRequest', 'window/workDoneProgress/cancel'] as const) {
    it(`cancels a running build (${how}): the request ends as cancelled and nothing is left`, async function () {
      const marker = `${3000 + Math.floor(Math.random() * 1000)}.25`;
      const uri = await openSpec(spec(`  - run: sleep ${marker}`));
      const running = server.notification<StatusParams>(
        'strata/status',
        (p) => p.state === 'building' && /step 2\/2/.test(p.detail ?? ''),
      );
      const source = new CancellationTokenSource();
      const request = server.connection
        .sendRequest(
          ExecuteCommandRequest.type,
          { command: 'strata.build', arguments: [uri], workDoneToken: 'cancel-me' },
          source.token,
        )
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      await running;
      // The step's container is up: wait until its sleep runs, then cancel.
      for (let i = 0; i < 200 && !sleeping(marker); i++) await new Promise((r) => setTimeout(r, 50));
      assert.ok(sleeping(marker), 'the step should be running');
      const mark = server.notifications.length;
      if (how === '$/cancelRequest') source.cancel();
      else
        await server.connection.sendNotification(WorkDoneProgressCancelNotification.type, {
          token: 'cancel-me',
        });
      const afterCancel = server.notification<StatusParams>(
        'strata/status',
        (p) => p.state === 'not-built',
        mark,
      );
      const error = await request;
      assert.ok(error instanceof ResponseError, String(error));
      assert.equal(error.code, LSPErrorCodes.RequestCancelled);
      // The status goes back to what it was: still no lock.
      assert.equal((await afterCancel).uri, uri);
      for (let i = 0; i < 100 && sleeping(marker); i++) await new Promise((r) => setTimeout(r, 50));
      assert.equal(sleeping(marker), false, 'the step process is gone');
      assert.equal(
        fs.readFileSync('/proc/self/mounts', 'utf8').includes(home),
        false,
        'no mount left under the store',
      );
      assert.equal(fs.existsSync(path.join(ws.dir, 'strata.lock')), false, 'no lock from a cancelled build');
      // tmp/locks holds the store's lock files, which stay; anything else would be a half-done step.
      const tmp = path.join(home, 'tmp');
      const left = fs.existsSync(tmp) ? fs.readdirSync(tmp).filter((f) => f !== 'locks') : [];
      assert.deepEqual(left, [], 'nothing left in the store tmp');
    });
  }
});

function sleeping(marker: string): boolean {
  try {
    return execFileSync('pgrep', ['-f', `sleep ${marker}`], { encoding: 'utf8' }).trim() !== '';
  } catch {
    return false;
  }
}
