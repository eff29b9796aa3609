// The language client for the bundled server (out/server.js), started with the settings'
// environment. Server-side commands (the code lenses' strata.build etc.) are routed through the
// client's own command path, so they get the same progress, cancellation and trust checks.
import * as vscode from 'vscode';
import {
  LanguageClient,
  TransportKind,
  type LanguageClientOptions,
  type ServerOptions,
} from 'vscode-languageclient/node';
import type { InitializationOptions } from '../../server/src/protocol';
import type { Config } from './config';
import { SERVED_PATTERN } from './globs';

export type ExecuteCommandHook = (command: string, args: unknown[]) => Promise<unknown>;

export function createLanguageClient(
  config: Config,
  channel: vscode.LogOutputChannel,
  executeCommand: ExecuteCommandHook,
): LanguageClient {
  const module = config.serverPath;
  const env = { ...process.env, ...config.processEnv() };
  const serverOptions: ServerOptions = {
    run: { module, transport: TransportKind.ipc, options: { env } },
    debug: {
      module,
      transport: TransportKind.ipc,
      options: { env, execArgv: ['--nolazy', '--inspect=6019'] },
    },
  };
  const initializationOptions: InitializationOptions = { trusted: vscode.workspace.isTrusted };
  const clientOptions: LanguageClientOptions = {
    documentSelector: [{ scheme: 'file', pattern: SERVED_PATTERN }],
    outputChannel: channel,
    traceOutputChannel: channel,
    initializationOptions,
    synchronize: { fileEvents: vscode.workspace.createFileSystemWatcher(SERVED_PATTERN) },
    middleware: {
      executeCommand: (command, args) => executeCommand(command, args),
    },
  };
  return new LanguageClient('strata', 'Strata Language Server', serverOptions, clientOptions);
}
