// Workspace trust: a spec runs commands and binds workspace folders into containers, so in an
// untrusted workspace only validation runs (the server is told through initializationOptions) and
// every command that builds or runs explains why it is disabled instead.
import * as vscode from 'vscode';

export const RESTRICTED_MESSAGE =
  'Strata: building and running are disabled in Restricted Mode, because a spec runs its steps as ' +
  'commands and binds workspace folders into containers. Trust this workspace to enable them; ' +
  'validation keeps working.';

/** True when the workspace is trusted; otherwise shows the explanation (not awaited) and returns false. */
export function requireTrust(): boolean {
  if (vscode.workspace.isTrusted) return true;
  const manage = 'Manage Workspace Trust';
  void vscode.window.showWarningMessage(RESTRICTED_MESSAGE, manage).then((choice) => {
    if (choice === manage) void vscode.commands.executeCommand('workbench.trust.manage');
  });
  return false;
}
