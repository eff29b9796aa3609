// The task provider: tasks.json can use `type: strata`.
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { strataApi } from '../helpers';

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
    assert.match((build.execution as vscode.ProcessExecution).args.join(' '), /out\/cli\.js build$/);
  });

  it('runs a validate task whose problem matcher reports the broken spec', async () => {
    const tasks = await vscode.tasks.fetchTasks({ type: 'strata' });
    const validate = tasks.find((t) => t.name === 'validate broken');
    assert.ok(validate);
    const ended = new Promise<number | undefined>((resolve) => {
      const sub = vscode.tasks.onDidEndTaskProcess((e) => {
        if (e.execution.task.name !== validate.name) return;
        sub.dispose();
        resolve(e.exitCode);
      });
    });
    await vscode.tasks.executeTask(validate);
    assert.equal(await ended, 1, 'strata validate exits 1 for an invalid spec');
  });
});
