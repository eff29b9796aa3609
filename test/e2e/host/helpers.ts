// Helpers for the suites that run inside the extension host.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { StrataApi } from '../../../extension/src/main';

export const EXTENSION_ID = 'strata-dev.strata';

export function workspaceRoot(): string {
  const folder = vscode.workspace.workspaceFolders?.[0];
  if (!folder) throw new Error('the e2e VS Code has no workspace folder open');
  return folder.uri.fsPath;
}

export function specUri(name: string): vscode.Uri {
  return vscode.Uri.file(path.join(workspaceRoot(), name, 'strata.yaml'));
}

export async function strataApi(): Promise<StrataApi> {
  const ext = vscode.extensions.getExtension<StrataApi>(EXTENSION_ID);
  if (!ext) throw new Error(`extension ${EXTENSION_ID} is not loaded in this VS Code`);
  const api = await ext.activate();
  await api.ready;
  return api;
}

/** Waits until `probe` returns a truthy value; fails with `what` and the last value seen. */
type Truthy<T> = Exclude<T, false | null | undefined | 0 | ''>;

export async function waitFor<T>(
  what: string,
  probe: () => T | Promise<T>,
  timeoutMs = 60000,
): Promise<Truthy<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  for (;;) {
    last = await probe();
    if (last) return last as Truthy<T>;
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what} (last: ${JSON.stringify(last)})`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

export async function openSpec(name: string): Promise<vscode.TextEditor> {
  const doc = await vscode.workspace.openTextDocument(specUri(name));
  return vscode.window.showTextDocument(doc);
}

/**
 * Processes on this machine whose command line matches; with `home`, only those that belong to
 * this test run's store (STRATA_HOME in their environ: the server, the CLI, strata-box).
 */
export function processesOfStore(
  home: string | undefined,
  match: (cmdline: string) => boolean,
): { pid: number; cmdline: string }[] {
  const found: { pid: number; cmdline: string }[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (home !== undefined) {
        const environ = fs.readFileSync(`/proc/${entry}/environ`, 'utf8').split('\0');
        if (!environ.includes(`STRATA_HOME=${home}`)) continue;
      }
      const cmdline = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').join(' ').trim();
      if (match(cmdline)) found.push({ pid: Number(entry), cmdline });
    } catch {
      /* gone, or not ours to read */
    }
  }
  return found;
}
