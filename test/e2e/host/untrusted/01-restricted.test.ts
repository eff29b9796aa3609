// In an untrusted workspace (Restricted Mode) only validation runs; build and run are refused
// with an explanation, and nothing is built.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { BuildOutcome } from '../../../../extension/src/commands/builds';
import { openSpec, specUri, strataApi, waitFor, workspaceRoot } from '../helpers';

describe('untrusted workspace', () => {
  before(async () => {
    await strataApi();
  });

  it('is untrusted', () => {
    assert.equal(vscode.workspace.isTrusted, false);
  });

  it('still validates: the broken spec gets its diagnostic', async () => {
    await openSpec('broken');
    const d = await waitFor(
      'diagnostics in Restricted Mode',
      () => vscode.languages.getDiagnostics(specUri('broken')).length > 0,
    );
    assert.ok(d);
  });

  it('blocks Build, Run Workload and Open Shell and builds nothing', async () => {
    const spec = specUri('quickstart');
    const build = await vscode.commands.executeCommand<BuildOutcome>('strata.buildEnvironment', spec);
    assert.deepEqual(build, { status: 'blocked', reason: 'untrusted' });
    const run = await vscode.commands.executeCommand<BuildOutcome>('strata.runWorkload', spec, 'hello');
    assert.deepEqual(run, { status: 'blocked', reason: 'untrusted' });
    const shell = await vscode.commands.executeCommand<BuildOutcome>('strata.openShell', spec);
    assert.deepEqual(shell, { status: 'blocked', reason: 'untrusted' });
    assert.equal(vscode.window.terminals.length, 0, 'no terminal was opened');
    assert.equal(fs.existsSync(path.join(workspaceRoot(), 'quickstart', 'strata.lock')), false);
    const home = process.env.STRATA_HOME!;
    const blobs = path.join(home, 'oci', 'blobs', 'sha256');
    assert.equal(fs.existsSync(blobs) ? fs.readdirSync(blobs).length : 0, 0, 'nothing was pulled or built');
  });

  it('blocks the server-side build command too (a code lens)', async () => {
    // Either the server does not offer strata.build in Restricted Mode, or the client refuses it.
    const commands = await vscode.commands.getCommands(true);
    if (!commands.includes('strata.build')) return;
    const outcome = await vscode.commands.executeCommand<BuildOutcome>(
      'strata.build',
      specUri('quickstart').toString(),
    );
    assert.deepEqual(outcome, { status: 'blocked', reason: 'untrusted' });
  });
});
