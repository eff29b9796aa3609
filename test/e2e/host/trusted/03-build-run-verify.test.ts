// The researcher's path: Build examples/quickstart against the local registry, see it built and
// locked in the tree and the status bar, run its workload in a terminal, verify the lock.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { BuildOutcome } from '../../../../extension/src/commands/builds';
import { Terminals } from '../../../../extension/src/commands/terminals';
import { EnvironmentInfoRequest, type EnvironmentInfoExtras } from '../../../../server/src/protocol';
import { openSpec, specUri, strataApi, waitFor, workspaceRoot } from '../helpers';

describe('build, run and verify examples/quickstart', function () {
  const spec = () => specUri('quickstart');

  before(async () => {
    assert.ok(process.env.STRATA_REGISTRY_MIRRORS, 'the e2e driver points Strata at the local registry');
    await strataApi();
  });

  it('Build builds the image and writes strata.lock', async () => {
    await openSpec('quickstart');
    const outcome = await vscode.commands.executeCommand<BuildOutcome>('strata.buildEnvironment', spec());
    assert.equal(outcome.status, 'ok', `build outcome: ${JSON.stringify(outcome)}`);
    if (outcome.status !== 'ok') return;
    assert.match(outcome.result.imageDigest ?? '', /^sha256:[0-9a-f]{64}$/);
    assert.equal(outcome.result.state, 'locked');
    const lock = path.join(workspaceRoot(), 'quickstart', 'strata.lock');
    assert.ok(fs.existsSync(lock), `${lock} was written`);
    assert.match(fs.readFileSync(lock, 'utf8'), new RegExp(outcome.result.imageDigest!.slice(7)));
  });

  it('the tree shows the environment built and locked, with its layers and workloads', async () => {
    const api = await strataApi();
    const tree = api.environments;
    const node = tree.getChildren().find((n) => n.kind === 'spec' && n.spec.toString() === spec().toString());
    assert.ok(node, 'quickstart is in the tree');
    const item = await waitFor('quickstart shown as locked', () => {
      const i = tree.getTreeItem(node);
      return String(i.description).startsWith('built, locked') && i;
    });
    assert.match(String(item.description), /sha256:|[0-9a-f]{12}/);
    const groups = await waitFor('layers and workloads under quickstart', () => {
      const g = tree.getChildren(node);
      return g.some((n) => n.kind === 'group' && n.group === 'layers') && g;
    });
    const layers = groups.find((n) => n.kind === 'group' && n.group === 'layers')!;
    const layerItems = tree.getChildren(layers).map((n) => tree.getTreeItem(n));
    assert.ok(layerItems.length >= 2, 'the busybox base layer and the copy step');
    for (const l of layerItems) assert.match(String(l.description), /\d+(\.\d)? (B|KiB|MiB) · [0-9a-f]{12}/);
    const workloads = groups.find((n) => n.kind === 'group' && n.group === 'workloads')!;
    assert.deepEqual(
      tree.getChildren(workloads).map((n) => tree.getTreeItem(n).label),
      ['hello'],
    );
  });

  it('the status bar shows the environment built and locked', async () => {
    const api = await strataApi();
    await openSpec('quickstart');
    const text = await waitFor('status bar text', () => {
      const t = api.statusBar.item.text;
      return t.includes('locked') && t;
    });
    assert.match(text, /quickstart: built, locked/);
  });

  it('Run Workload runs "hello" in a terminal and produces its output file', async () => {
    const out = path.join(workspaceRoot(), 'quickstart', 'results', 'greeting.txt');
    fs.rmSync(out, { force: true });
    const terminal = await vscode.commands.executeCommand<vscode.Terminal>(
      'strata.runWorkload',
      spec(),
      'hello',
    );
    assert.ok(terminal, 'a terminal was opened');
    assert.equal(terminal.name, 'Strata: hello');
    const code = await Terminals.exited(terminal);
    assert.equal(code, 0, 'the workload exited with 0');
    assert.ok(fs.existsSync(out), `${out} exists`);
    assert.match(fs.readFileSync(out, 'utf8'), /^hello from /);
    terminal.dispose();
  });

  it('lists the run under "Recent runs" with its exit status, and opens its record', async () => {
    const api = await strataApi();
    const tree = api.environments;
    const node = tree
      .getChildren()
      .find((n) => n.kind === 'spec' && n.spec.toString() === spec().toString())!;
    const runs = await waitFor('a "Recent runs" group', () =>
      tree.getChildren(node).find((n) => n.kind === 'group' && n.group === 'runs'),
    );
    const [latest] = tree.getChildren(runs);
    assert.ok(latest && latest.kind === 'run');
    // The runs are the server's (strata/environmentInfo reads the run records; the client spawns
    // nothing): its answer lists the same newest run, with the record file the tree opens.
    const fromServer = (await api.ctx.client.sendRequest(EnvironmentInfoRequest.method, {
      uri: spec().toString(),
    })) as EnvironmentInfoExtras;
    assert.deepEqual(fromServer.runs?.[0], latest.run);
    assert.equal(latest.run.exitCode, 0);
    assert.ok(fs.existsSync(latest.run.recordPath), latest.run.recordPath);
    const item = tree.getTreeItem(latest);
    assert.equal(item.label, 'hello');
    assert.match(String(item.description), /^exit 0 · /);
    assert.equal(item.command?.command, 'strata.openRunRecord');
    await vscode.commands.executeCommand(item.command.command, ...(item.command.arguments ?? []));
    const doc = vscode.window.activeTextEditor?.document;
    assert.ok(doc, 'the run record is open');
    const record = JSON.parse(doc.getText()) as {
      workload: string;
      exit: { code: number };
      outputs: { path: string }[];
    };
    assert.equal(record.workload, 'hello');
    assert.equal(record.exit.code, 0);
    assert.ok(
      record.outputs.some((o) => o.path.endsWith('greeting.txt')),
      'the output file is hashed in the record',
    );
  });

  it('Verify Reproducibility rebuilds from the lock and reports reproduced', async () => {
    const api = await strataApi();
    const outcome = await vscode.commands.executeCommand<BuildOutcome>('strata.verifyEnvironment', spec());
    assert.equal(outcome.status, 'ok', `verify outcome: ${JSON.stringify(outcome)}`);
    if (outcome.status !== 'ok') return;
    assert.equal(outcome.result.state, 'reproduced');
    assert.deepEqual(outcome.result.drift ?? [], []);
    await waitFor('status bar says reproduced', () => api.statusBar.item.text.includes('reproduced'));
  });

  it('Rebuild Without Cache and Update Lock go through the server and keep the lock', async () => {
    const lock = path.join(workspaceRoot(), 'quickstart', 'strata.lock');
    const before = fs.readFileSync(lock, 'utf8');
    for (const command of ['strata.rebuildEnvironment', 'strata.updateLock']) {
      const outcome = await vscode.commands.executeCommand<BuildOutcome>(command, spec());
      assert.equal(outcome.status, 'ok', `${command}: ${JSON.stringify(outcome)}`);
      if (outcome.status === 'ok') assert.equal(outcome.result.state, 'locked', command);
    }
    // Nothing in the spec changed: the rebuilt layers reproduce, so the lock stays byte-identical.
    assert.equal(fs.readFileSync(lock, 'utf8'), before);
  });
});
