// Runs the first-run host checks once per session, before the first build or run, and shows at
// most one actionable message (what is missing and what fixes it), never a stack trace.
import * as vscode from 'vscode';
import type { Ctx } from '../ctx';
import { describeHost, diagnoseHost, gatherHostFacts, type HostFacts, type HostProblem } from '../hostCheck';

export class HostGate {
  private checked: Promise<{ facts: HostFacts; problem?: HostProblem }> | undefined;

  constructor(private readonly ctx: Ctx) {}

  check(force = false): Promise<{ facts: HostFacts; problem?: HostProblem }> {
    if (force || !this.checked) {
      this.checked = gatherHostFacts(this.ctx.config.helperPath).then((facts) => {
        this.ctx.channel.info(`host check: ${describeHost(facts)}`);
        return { facts, problem: diagnoseHost(facts) };
      });
    }
    return this.checked;
  }

  /** True when Strata can build and run here; otherwise shows the one message and returns false. */
  async ensure(): Promise<boolean> {
    const { problem } = await this.check();
    if (!problem) return true;
    this.ctx.channel.error(`host check: ${problem.what}; fix: ${problem.fix}`);
    const open = 'Open Setting';
    const log = 'Show Log';
    void vscode.window
      .showErrorMessage(
        `Strata cannot build here: ${problem.what}. Fix: ${problem.fix}.`,
        ...(problem.setting ? [open] : []),
        log,
      )
      .then((choice) => {
        if (choice === open)
          void vscode.commands.executeCommand('workbench.action.openSettings', problem.setting);
        if (choice === log) this.ctx.channel.show(true);
      });
    return false;
  }

  /** Settings that the facts depend on changed: check again on next use. */
  reset(): void {
    this.checked = undefined;
  }
}
