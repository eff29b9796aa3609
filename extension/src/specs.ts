// Which spec a command is about: the argument it was given (explorer, editor title, tree item,
// code lens), else the active editor, else the only spec in the workspace, else a pick.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { SPEC_GLOB } from './globs';

export function isSpecFile(uri: vscode.Uri): boolean {
  const base = path.basename(uri.fsPath);
  return base === 'strata.yaml' || base.endsWith('.strata.yaml');
}

/** Every spec in the workspace, sorted by path. */
export async function findSpecs(): Promise<vscode.Uri[]> {
  const found = await vscode.workspace.findFiles(SPEC_GLOB, '**/node_modules/**');
  return found.sort((a, b) => a.fsPath.localeCompare(b.fsPath));
}

/** The label users know an environment by: its folder relative to the workspace, and the file. */
export function specLabel(uri: vscode.Uri): string {
  const rel = vscode.workspace.asRelativePath(uri, false);
  return path.basename(uri.fsPath) === 'strata.yaml'
    ? path.dirname(rel) === '.'
      ? rel
      : path.dirname(rel)
    : rel;
}

function fromArgument(arg: unknown): vscode.Uri | undefined {
  if (arg instanceof vscode.Uri) return arg;
  if (typeof arg === 'string' && /^[a-z][a-z0-9+.-]*:/i.test(arg)) return vscode.Uri.parse(arg);
  if (typeof arg === 'string' && path.isAbsolute(arg)) return vscode.Uri.file(arg);
  // Tree items carry the spec they belong to.
  if (
    arg &&
    typeof arg === 'object' &&
    'spec' in arg &&
    (arg as { spec: unknown }).spec instanceof vscode.Uri
  )
    return (arg as { spec: vscode.Uri }).spec;
  return undefined;
}

export async function resolveSpec(arg: unknown): Promise<vscode.Uri | undefined> {
  let uri = fromArgument(arg);
  if (uri && path.basename(uri.fsPath) === 'strata.lock') uri = vscode.Uri.joinPath(uri, '..', 'strata.yaml');
  if (uri && isSpecFile(uri)) return uri;
  const active = vscode.window.activeTextEditor?.document.uri;
  if (active && isSpecFile(active)) return active;
  const specs = await findSpecs();
  if (specs.length === 1) return specs[0];
  if (specs.length === 0) {
    const create = 'New Environment Spec';
    const choice = await vscode.window.showWarningMessage(
      'Strata: there is no strata.yaml in this workspace. Create one, or open a folder that has one.',
      create,
    );
    if (choice === create) await vscode.commands.executeCommand('strata.newSpec');
    return undefined;
  }
  const picked = await vscode.window.showQuickPick(
    specs.map((s) => ({ label: specLabel(s), description: vscode.workspace.asRelativePath(s), uri: s })),
    { placeHolder: 'Which environment?' },
  );
  return picked?.uri;
}
