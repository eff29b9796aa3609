// How the client runs the bundled `strata` CLI: the extension host's own Node (with
// ELECTRON_RUN_AS_NODE for desktop VS Code, whose execPath is Electron) on out/cli.js, in the
// spec's folder, with the settings' environment. One place, shared by terminals and tasks.
import * as path from 'node:path';
import type * as vscode from 'vscode';
import type { Config } from './config';

export interface CliInvocation {
  command: string;
  args: string[];
  cwd: string;
  env: Record<string, string>;
}

/** Arguments that select the spec, for a CLI run in the spec's folder. */
export function specArgs(spec: vscode.Uri): string[] {
  const base = path.basename(spec.fsPath);
  return base === 'strata.yaml' ? [] : ['--file', base];
}

export function cliInvocation(config: Config, spec: vscode.Uri, args: string[]): CliInvocation {
  return {
    command: process.execPath,
    args: [config.cliPath, ...args],
    cwd: path.dirname(spec.fsPath),
    env: { ...config.processEnv(), ELECTRON_RUN_AS_NODE: '1' },
  };
}

/** The same command as a user would type it, for logs and terminal titles. */
export function displayCommand(args: string[]): string {
  return ['strata', ...args]
    .map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`))
    .join(' ');
}
