// Task provider for `type: strata` (build, rebuild, verify, lock, validate, or one workload), so that
// tasks.json can use them. Tasks run the bundled CLI; `$strata` matches `strata validate` output
// (FILE:LINE:COL: error|warning|info: MESSAGE).
import * as path from 'node:path';
import * as vscode from 'vscode';
import { cliInvocation } from './cli';
import type { Ctx } from './ctx';
import { findSpecs, specLabel } from './specs';

export const TASK_TYPE = 'strata';

export interface StrataTaskDefinition extends vscode.TaskDefinition {
  type: typeof TASK_TYPE;
  action: 'build' | 'rebuild' | 'verify' | 'lock' | 'workload' | 'validate';
  /** The spec, relative to the workspace folder (default strata.yaml). */
  spec?: string;
  workload?: string;
}

/**
 * CLI arguments for a task. Tasks run in the workspace folder with the spec's relative path, so
 * that the file names the CLI prints (relative to its cwd) are what the $strata problem matcher
 * resolves against ${workspaceFolder}. `strata build` writes the lock when it changed.
 */
export function taskArgs(def: StrataTaskDefinition): string[] {
  const spec = def.spec ?? 'strata.yaml';
  switch (def.action) {
    case 'build':
    case 'lock':
      return ['build', spec];
    case 'rebuild':
      return ['build', spec, '--no-cache'];
    case 'verify':
      return ['verify', spec];
    case 'validate':
      return ['validate', spec];
    case 'workload':
      if (!def.workload)
        throw new Error('a strata task with action "workload" needs "workload": the workload to run');
      return ['run', spec, def.workload];
  }
}

export class StrataTaskProvider implements vscode.TaskProvider {
  constructor(private readonly ctx: Ctx) {}

  async provideTasks(): Promise<vscode.Task[]> {
    const tasks: vscode.Task[] = [];
    for (const spec of await findSpecs()) {
      const folder = vscode.workspace.getWorkspaceFolder(spec);
      if (!folder) continue;
      const rel = path.relative(folder.uri.fsPath, spec.fsPath);
      for (const action of ['build', 'verify', 'lock', 'validate'] as const)
        tasks.push(this.make({ type: TASK_TYPE, action, spec: rel }, folder));
      for (const workload of this.ctx.store.get(spec).info?.workloads ?? [])
        tasks.push(this.make({ type: TASK_TYPE, action: 'workload', spec: rel, workload }, folder));
    }
    return tasks;
  }

  resolveTask(task: vscode.Task): vscode.Task | undefined {
    const def = task.definition as StrataTaskDefinition;
    if (def.type !== TASK_TYPE) return undefined;
    const folder =
      task.scope && typeof task.scope === 'object' ? task.scope : vscode.workspace.workspaceFolders?.[0];
    return folder ? this.make(def, folder, task) : undefined;
  }

  private make(def: StrataTaskDefinition, folder: vscode.WorkspaceFolder, base?: vscode.Task): vscode.Task {
    const spec = vscode.Uri.joinPath(folder.uri, def.spec ?? 'strata.yaml');
    const inv = { ...cliInvocation(this.ctx.config, spec, taskArgs(def)), cwd: folder.uri.fsPath };
    const name =
      base?.name ??
      (def.action === 'workload'
        ? `run ${def.workload} (${specLabel(spec)})`
        : `${def.action} ${specLabel(spec)}`);
    const task = new vscode.Task(
      def,
      folder,
      name,
      TASK_TYPE,
      new vscode.ProcessExecution(inv.command, inv.args, { cwd: inv.cwd, env: inv.env }),
      ['$strata'],
    );
    if (def.action === 'build' || def.action === 'rebuild' || def.action === 'lock')
      task.group = vscode.TaskGroup.Build;
    return task;
  }
}
