// "New Environment Spec": writes a small, valid strata.yaml into the workspace (never over an
// existing one) and opens it, so the walkthrough's first step works in an empty folder.
import * as vscode from 'vscode';

const TEMPLATE = `# A reproducible environment. Build it with "Strata: Build Environment".
strata: 1
name: my-environment
from: docker.io/library/debian:bookworm
steps:
  - apt: [python3-minimal]
workdir: /job
mounts:
  - { src: ./results, dest: /job/results }
workloads:
  hello:
    command: [python3, -c, "print('hello from a reproducible environment')"]
    outputs: [results/]
`;

export async function newSpec(): Promise<vscode.Uri | undefined> {
  const folder = vscode.workspace.workspaceFolders?.[0];
  if (!folder) {
    void vscode.window.showWarningMessage(
      'Strata: open a folder first; the spec lives next to your code and data.',
    );
    return undefined;
  }
  const uri = vscode.Uri.joinPath(folder.uri, 'strata.yaml');
  try {
    await vscode.workspace.fs.stat(uri);
  } catch {
    await vscode.workspace.fs.writeFile(uri, new TextEncoder().encode(TEMPLATE));
  }
  await vscode.window.showTextDocument(uri);
  return uri;
}
