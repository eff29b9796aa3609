// How the client runs the bundled `strata` CLI: the extension host's own Node (with
// ELECTRON_RUN_AS_NODE for desktop VS Code, whose execPath is Electron) on out/cli.js, in the
// spec's folder, with the settings' environment. One place, shared by terminals and tasks.
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import type * as vscode from 'vscode';
import type { Config } from './config';

export interface CliInvocation {
  command: string;
  args: string[];
  cwd: string;
  env: Record<string, string>;
}

/**
 * `strata SUB SPEC ARGS…` for a CLI run in the spec's folder: the CLI takes the spec as the first
 * positional argument (a file, or a folder holding a strata.yaml).
 */
export function withSpec(spec: vscode.Uri, sub: string, ...rest: string[]): string[] {
  return [sub, path.basename(spec.fsPath), ...rest];
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

/** Whether the bundled CLI has a command (`strata --help` lists it): for features added later. */
export function cliHasCommand(config: Config, spec: vscode.Uri, name: string): Promise<boolean> {
  const inv = cliInvocation(config, spec, ['--help']);
  return new Promise((resolve) => {
    execFile(
      inv.command,
      inv.args,
      { env: { ...process.env, ...inv.env }, timeout: 10000 },
      (error, stdout) => resolve(!error && new RegExp(`^\\s+${name}\\s`, 'm').test(stdout)),
    );
  });
}
