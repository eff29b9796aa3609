// Extension entry point: activate() creates the context object that owns the language client and
// every disposable (as rust-analyzer's ctx.ts).
import * as path from 'node:path';
import type * as vscode from 'vscode';
import { LanguageClient, TransportKind } from 'vscode-languageclient/node';

let client: LanguageClient | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const module = context.asAbsolutePath(path.join('out', 'server.js'));
  client = new LanguageClient(
    'strata',
    'Strata',
    { run: { module, transport: TransportKind.ipc }, debug: { module, transport: TransportKind.ipc } },
    { documentSelector: [{ scheme: 'file', pattern: '**/{strata.yaml,*.strata.yaml,strata.lock}' }] },
  );
  await client.start();
}

export async function deactivate(): Promise<void> {
  await client?.stop();
}
