// A build that fails: the command reports the failure (the notification offers "Show Log"), the
// failing step gets a diagnostic, and the status bar says "build failed" until the spec changes.
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { BuildOutcome } from '../../../../extension/src/commands/builds';
import { openSpec, specUri, strataApi, waitFor } from '../helpers';

describe('a failing build', () => {
  it('reports the failure and puts a diagnostic on the failing step', async () => {
    const api = await strataApi();
    await openSpec('failing');
    const spec = specUri('failing');
    const outcome = await vscode.commands.executeCommand<BuildOutcome>('strata.buildEnvironment', spec);
    assert.equal(outcome.status, 'failed', `outcome: ${JSON.stringify(outcome)}`);
    if (outcome.status !== 'failed') return;
    assert.equal(outcome.code, 'BUILD');
    assert.match(outcome.message, /exit|status|3/);
    const onStep = await waitFor('a diagnostic on the failing step (line 6)', () =>
      vscode.languages.getDiagnostics(spec).find((d) => d.range.start.line === 5),
    );
    assert.equal(onStep.severity, vscode.DiagnosticSeverity.Error);
    assert.match(onStep.message, /build failed/);
    // The diagnostic comes from the server's revalidation after the build; the environmentInfo
    // round trip makes sure every status sent before it has arrived. 'failed' stays.
    await api.ctx.refreshInfo(spec);
    assert.equal(api.ctx.store.get(spec).state, 'failed');
    assert.equal(api.ctx.store.get(spec).info?.state, 'failed');
    assert.match(api.statusBar.item.text, /failing: build failed/);
  });

  it('keeps "build failed" until the spec changes, then shows the lock state again', async () => {
    const api = await strataApi();
    const spec = specUri('failing');
    const editor = await openSpec('failing');
    assert.equal(api.ctx.store.get(spec).state, 'failed', 'after the failing build above');
    const doc = editor.document;
    const last = doc.lineAt(doc.lineCount - 1).text.trim() ? doc.lineCount - 1 : doc.lineCount - 2;
    const edit = new vscode.WorkspaceEdit();
    edit.replace(spec, doc.lineAt(last).range, '  - run: echo fixed');
    assert.ok(await vscode.workspace.applyEdit(edit));
    try {
      await waitFor(
        'the state to leave failed after the edit',
        () => api.ctx.store.get(spec).state === 'not-built',
      );
      await waitFor('the build-failed diagnostic to go', () =>
        vscode.languages.getDiagnostics(spec).every((d) => !/build failed/.test(d.message)),
      );
      await waitFor('the status bar to say not built', () =>
        /failing: not built/.test(api.statusBar.item.text),
      );
    } finally {
      await vscode.commands.executeCommand('workbench.action.files.revert');
    }
  });
});
