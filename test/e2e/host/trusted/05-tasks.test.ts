// The task provider: tasks.json can use `type: strata`.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { strataApi, waitFor, workspaceRoot } from '../helpers';

describe('tasks', () => {
  it('provides build, verify, lock and validate tasks for every spec, and one per workload', async () => {
    await strataApi();
    const tasks = await vscode.tasks.fetchTasks({ type: 'strata' });
    const names = tasks.map((t) => t.name).sort();
    for (const expected of [
      'build quickstart',
      'verify quickstart',
      'lock quickstart',
      'validate broken',
      'run hello (quickstart)',
    ])
      assert.ok(names.includes(expected), `task "${expected}" in ${names.join(', ')}`);
    const build = tasks.find((t) => t.name === 'build quickstart')!;
    assert.equal(build.group?.id, vscode.TaskGroup.Build.id);
    assert.ok(build.execution instanceof vscode.ProcessExecution);
    assert.match(
      (build.execution as vscode.ProcessExecution).args.join(' '),
      /out\/cli\.js build quickstart\/strata\.yaml$/,
    );
  });

  it('runs a validate task whose problem matcher reports a broken spec', async () => {
    // A spec no editor has opened, so the only diagnostics it can get are the $strata matcher's.
    const dir = path.join(workspaceRoot(), 'typo');
    fs.mkdirSync(dir, { recursive: true });
    fs.copyFileSync(path.join(workspaceRoot(), 'broken', 'strata.yaml'), path.join(dir, 'strata.yaml'));
    const typo = vscode.Uri.file(path.join(dir, 'strata.yaml'));
    try {
      const validate = await waitFor('a "validate typo" task', async () =>
        (await vscode.tasks.fetchTasks({ type: 'strata' })).find((t) => t.name === 'validate typo'),
      );
      assert.deepEqual(vscode.languages.getDiagnostics(typo), []);
      const ended = new Promise<number | undefined>((resolve) => {
        const sub = vscode.tasks.onDidEndTaskProcess((e) => {
          if (e.execution.task.name !== validate.name) return;
          sub.dispose();
          resolve(e.exitCode);
        });
      });
      await vscode.tasks.executeTask(validate);
      assert.equal(await ended, 1, 'strata validate exits 1 for an invalid spec');
      const matched = await waitFor('a problem from the $strata matcher', () =>
        vscode.languages.getDiagnostics(typo).find((d) => d.range.start.line === 4),
      );
      assert.match(matched.message, /unknown key 'stpes'.*steps/);
      assert.equal(matched.severity, vscode.DiagnosticSeverity.Error);
      assert.equal(matched.range.start.character, 0);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
