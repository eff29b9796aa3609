// How each environment state is shown, shared by the tree and the status bar.
import * as vscode from 'vscode';
import type { EnvironmentState } from '../../../server/src/protocol';

const TEXT: Record<EnvironmentState, string> = {
  'not-built': 'not built',
  building: 'building',
  built: 'built',
  locked: 'built, locked',
  stale: 'lock stale',
  reproduced: 'locked, reproduced',
  drift: 'drift from lock',
  failed: 'build failed',
};

const ICON: Record<EnvironmentState, string> = {
  'not-built': 'circle-large-outline',
  building: 'sync~spin',
  built: 'package',
  locked: 'lock',
  stale: 'warning',
  reproduced: 'verified-filled',
  drift: 'error',
  failed: 'error',
};

export function describeState(state: EnvironmentState, detail?: string): string {
  return state === 'building' && detail ? `building (${detail})` : TEXT[state];
}

export function stateCodicon(state: EnvironmentState): string {
  return ICON[state];
}

export function stateIcon(state: EnvironmentState): vscode.ThemeIcon {
  const color =
    state === 'drift' || state === 'failed'
      ? new vscode.ThemeColor('errorForeground')
      : state === 'stale'
        ? new vscode.ThemeColor('editorWarning.foreground')
        : undefined;
  return new vscode.ThemeIcon(ICON[state], color);
}
