// Language features served by the bundled server, as the editor shows them.
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { openSpec, specUri, strataApi, waitFor } from '../helpers';

describe('language features', () => {
  before(async () => {
    await strataApi();
  });

  it('underlines the unknown key of a broken spec at its range, suggesting the right key', async () => {
    await openSpec('broken');
    const uri = specUri('broken');
    const diagnostics = await waitFor('diagnostics for broken/strata.yaml', () => {
      const d = vscode.languages.getDiagnostics(uri);
      return d.length > 0 && d;
    });
    const typo = diagnostics.find((d) => d.range.start.line === 4);
    assert.ok(
      typo,
      `a diagnostic on line 5 ("stpes:"); got ${JSON.stringify(diagnostics.map((d) => [d.range.start.line, d.message]))}`,
    );
    assert.equal(typo.range.start.character, 0);
    assert.equal(typo.range.end.line, 4);
    assert.equal(typo.range.end.character, 'stpes'.length);
    assert.equal(typo.severity, vscode.DiagnosticSeverity.Error);
    assert.match(typo.message, /steps/);
  });

  it('reports no problem for the quickstart spec', async () => {
    await openSpec('quickstart');
    const uri = specUri('quickstart');
    // Wait for the server to have seen the document (it publishes an empty list for a clean file),
    // by checking that the broken one has its diagnostics, then this one has none.
    await waitFor(
      'diagnostics for the broken spec',
      () => vscode.languages.getDiagnostics(specUri('broken')).length > 0,
    );
    assert.deepEqual(
      vscode.languages.getDiagnostics(uri).filter((d) => d.severity === vscode.DiagnosticSeverity.Error),
      [],
    );
  });

  it('completes top-level keys', async () => {
    const editor = await openSpec('quickstart');
    const doc = editor.document;
    // A new empty line at the end of the file: only top-level keys fit there.
    await editor.edit((e) => e.insert(new vscode.Position(doc.lineCount, 0), '\n'));
    const position = new vscode.Position(doc.lineCount - 1, 0);
    const list = await waitFor('completion items', async () => {
      const l = await vscode.commands.executeCommand<vscode.CompletionList>(
        'vscode.executeCompletionItemProvider',
        doc.uri,
        position,
      );
      return l.items.length > 0 && l;
    });
    const labels = list.items.map((i) => (typeof i.label === 'string' ? i.label : i.label.label));
    assert.ok(labels.includes('env'), `completion offers "env"; got ${labels.join(', ')}`);
    await vscode.commands.executeCommand('workbench.action.files.revert');
  });

  it('explains a key on hover, from the schema', async () => {
    const editor = await openSpec('quickstart');
    const line = editor.document
      .getText()
      .split('\n')
      .findIndex((l) => l.startsWith('from:'));
    const hovers = await waitFor('a hover on "from"', async () => {
      const h = await vscode.commands.executeCommand<vscode.Hover[]>(
        'vscode.executeHoverProvider',
        editor.document.uri,
        new vscode.Position(line, 1),
      );
      return h.length > 0 && h;
    });
    const text = hovers
      .flatMap((h) => h.contents)
      .map((c) => (typeof c === 'string' ? c : c.value))
      .join('\n');
    assert.match(text, /image/i);
  });
});
