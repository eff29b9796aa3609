// Workloads, shells and the other interactive CLI commands run in the integrated terminal: a real
// TTY, so progress bars, Ctrl-C and interactive shells behave as on the command line.
import * as vscode from 'vscode';
import { cliInvocation, displayCommand } from '../cli';
import type { Ctx } from '../ctx';
import { specLabel } from '../specs';

export class Terminals implements vscode.Disposable {
  private readonly owned = new Map<vscode.Terminal, vscode.Uri>();
  private readonly subscription: vscode.Disposable;

  constructor(private readonly ctx: Ctx) {
    // A finished run adds a run record: refresh the spec's "Recent runs".
    this.subscription = vscode.window.onDidCloseTerminal((t) => this.finished(t));
  }

  private finished(terminal: vscode.Terminal): void {
    const spec = this.owned.get(terminal);
    if (!spec) return;
    this.owned.delete(terminal);
    this.ctx.channel.info(
      `terminal '${terminal.name}' exited with ${terminal.exitStatus?.code ?? 'no code'}`,
    );
    void this.ctx.refreshInfo(spec);
  }

  /** Opens a terminal running `strata ARGS` in the spec's folder; it stays open after the process ends. */
  open(spec: vscode.Uri, title: string, full: string[]): vscode.Terminal {
    const inv = cliInvocation(this.ctx.config, spec, full);
    this.ctx.channel.info(`terminal: ${displayCommand(full)} (in ${inv.cwd})`);
    const terminal = vscode.window.createTerminal({
      name: `Strata: ${title}`,
      shellPath: inv.command,
      shellArgs: inv.args,
      cwd: inv.cwd,
      env: inv.env,
      iconPath: new vscode.ThemeIcon('package'),
      message: `${displayCommand(full)}   (${specLabel(spec)})`,
    });
    this.owned.set(terminal, spec);
    // A finished run wrote a run record: refresh the view once the process has exited.
    void Terminals.exited(terminal).then(() => this.ctx.refreshInfo(spec));
    terminal.show();
    return terminal;
  }

  /** Resolves when the terminal's process has exited, with its exit code. */
  static exited(terminal: vscode.Terminal): Promise<number | undefined> {
    if (terminal.exitStatus) return Promise.resolve(terminal.exitStatus.code);
    return new Promise((resolve) => {
      const subs = [
        vscode.window.onDidCloseTerminal((t) => t === terminal && done()),
        vscode.window.onDidChangeTerminalState((t) => t === terminal && t.exitStatus && done()),
      ];
      const timer = setInterval(() => terminal.exitStatus && done(), 250);
      function done(): void {
        clearInterval(timer);
        for (const s of subs) s.dispose();
        resolve(terminal.exitStatus?.code);
      }
    });
  }

  dispose(): void {
    this.subscription.dispose();
  }
}
