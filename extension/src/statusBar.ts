// One status bar item for the environment in focus (the active editor's spec, else the one being
// built, else the only spec): not built, building (step n/m), built, locked and reproduced, lock
// stale, drift. Clicking it shows the log.
import * as vscode from 'vscode';
import { isSpecFile, specLabel } from './specs';
import type { EnvironmentStore, EnvironmentView } from './state';
import { describeState, stateCodicon } from './views/presentation';

export class StatusBar implements vscode.Disposable {
  readonly item = vscode.window.createStatusBarItem('strata.status', vscode.StatusBarAlignment.Left, 50);
  private readonly subscriptions: vscode.Disposable[];

  constructor(private readonly store: EnvironmentStore) {
    this.item.name = 'Strata Environment';
    this.item.command = 'strata.showLogs';
    this.subscriptions = [
      store.onDidChange((uri) => {
        // A build or verify in progress takes the focus, and keeps it once it is done.
        if (uri && store.get(uri).state === 'building') this.lastFocused = uri;
        this.update();
      }),
      vscode.window.onDidChangeActiveTextEditor(() => this.update()),
    ];
    this.update();
  }

  /** The spec last shown in an editor or last built: kept while another kind of file is active. */
  private lastFocused: vscode.Uri | undefined;

  private focused(): EnvironmentView | undefined {
    const active = vscode.window.activeTextEditor?.document.uri;
    if (active && isSpecFile(active)) {
      this.lastFocused = active;
      return this.store.get(active);
    }
    const all = this.store.all();
    const known = (u: vscode.Uri | undefined) => u && all.find((v) => v.uri.toString() === u.toString());
    return (
      all.find((v) => v.state === 'building') ??
      known(this.lastFocused) ??
      (all.length === 1 ? all[0] : undefined)
    );
  }

  update(): void {
    const view = this.focused();
    if (!view) {
      this.item.hide();
      return;
    }
    const name = view.info?.name ?? specLabel(view.uri);
    // The status bar says "building (step 2/5)"; the tooltip and the tree have the step's text.
    const short = /^step \d+\/\d+/.exec(view.detail ?? '')?.[0] ?? view.detail;
    this.item.text = `$(${stateCodicon(view.state)}) ${name}: ${describeState(view.state, short)}`;
    this.item.tooltip = new vscode.MarkdownString(
      `Strata environment **${name}**: ${describeState(view.state, view.detail)}` +
        (view.imageDigest ? `\n\nimage \`${view.imageDigest}\`` : '') +
        '\n\nClick to show the log.',
    );
    this.item.backgroundColor =
      view.state === 'drift' || view.state === 'failed'
        ? new vscode.ThemeColor('statusBarItem.errorBackground')
        : view.state === 'stale'
          ? new vscode.ThemeColor('statusBarItem.warningBackground')
          : undefined;
    this.item.show();
  }

  dispose(): void {
    for (const s of this.subscriptions) s.dispose();
    this.item.dispose();
  }
}
