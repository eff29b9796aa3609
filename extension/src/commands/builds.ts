// Build, rebuild, verify and lock go through the language server (workspace/executeCommand) with a
// cancellable progress notification. Cancelling (the notification's button, or "Strata: Cancel
// Build") sends $/cancelRequest; the server stops the build and everything it started.
import { randomUUID } from 'node:crypto';
import * as vscode from 'vscode';
import type { WorkDoneProgressBegin, WorkDoneProgressReport } from 'vscode-languageclient/node';
import type { BuildResult, CommandErrorData, Commands } from '../../../server/src/protocol';
import type { Ctx } from '../ctx';
import { specLabel } from '../specs';

export type ServerAction = keyof typeof Commands;

export type BuildOutcome =
  | { status: 'ok'; result: BuildResult }
  | { status: 'cancelled' }
  | { status: 'failed'; message: string; code?: string }
  | { status: 'blocked'; reason: string };

const VERB: Record<ServerAction, [ing: string, done: string]> = {
  build: ['Building', 'built'],
  rebuild: ['Rebuilding without cache', 'rebuilt'],
  verify: ['Verifying', 'verified'],
  lock: ['Locking', 'locked'],
};

/** The server's command ids (protocol.ts Commands), without loading the protocol module. */
const SERVER_COMMAND: Record<ServerAction, (typeof Commands)[ServerAction]> = {
  build: 'strata.build',
  rebuild: 'strata.rebuild',
  verify: 'strata.verify',
  lock: 'strata.lock',
};

export function actionForServerCommand(command: string): ServerAction | undefined {
  return (Object.keys(SERVER_COMMAND) as ServerAction[]).find((k) => SERVER_COMMAND[k] === command);
}

export class BuildRunner implements vscode.Disposable {
  private readonly active = new Map<string, vscode.CancellationTokenSource>();

  constructor(private readonly ctx: Ctx) {}

  get running(): number {
    return this.active.size;
  }

  /** Cancels every running build; returns how many were asked to stop. */
  cancelAll(): number {
    const n = this.active.size;
    for (const cts of this.active.values()) cts.cancel();
    return n;
  }

  async run(action: ServerAction, spec: vscode.Uri): Promise<BuildOutcome> {
    const key = spec.toString();
    if (this.active.has(key)) {
      void vscode.window.showInformationMessage(`Strata: ${specLabel(spec)} is already being built.`);
      return { status: 'blocked', reason: 'busy' };
    }
    const client = await this.ctx.whenReady();
    const { ExecuteCommandRequest, WorkDoneProgress } = this.ctx.lsp!;
    const cts = new vscode.CancellationTokenSource();
    this.active.set(key, cts);
    void this.setBuildingContext();
    const [ing] = VERB[action];
    const name = specLabel(spec);
    this.ctx.channel.info(`${ing} ${spec.fsPath}`);
    try {
      return await vscode.window.withProgress(
        {
          location: vscode.ProgressLocation.Notification,
          title: `Strata: ${ing} ${name}`,
          cancellable: true,
        },
        async (progress, notificationToken) => {
          const link = notificationToken.onCancellationRequested(() => cts.cancel());
          const workDoneToken = randomUUID();
          let lastPercentage = 0;
          const onProgress = client.onProgress(WorkDoneProgress.type, workDoneToken, (value) => {
            if (value.kind === 'end') return;
            const v = value as WorkDoneProgressBegin | WorkDoneProgressReport;
            const increment =
              v.percentage !== undefined ? Math.max(0, v.percentage - lastPercentage) : undefined;
            if (v.percentage !== undefined) lastPercentage = v.percentage;
            if (v.message) this.ctx.channel.info(`${name}: ${v.message}`);
            progress.report({ message: v.message, increment });
          });
          try {
            const result = (await client.sendRequest(
              ExecuteCommandRequest.type,
              { command: SERVER_COMMAND[action], arguments: [key], workDoneToken },
              cts.token,
            )) as BuildResult | null;
            if (cts.token.isCancellationRequested) return this.cancelled(name);
            if (!result)
              return {
                status: 'failed',
                message: `the server returned no result for ${SERVER_COMMAND[action]}`,
              } as const;
            this.reportSuccess(action, name, result);
            return { status: 'ok', result } as const;
          } catch (e) {
            if (cts.token.isCancellationRequested || isCancellation(e)) return this.cancelled(name);
            return this.reportFailure(action, spec, e);
          } finally {
            onProgress.dispose();
            link.dispose();
          }
        },
      );
    } finally {
      this.active.delete(key);
      cts.dispose();
      void this.setBuildingContext();
      void this.ctx.refreshInfo(spec);
    }
  }

  private setBuildingContext(): Thenable<unknown> {
    return vscode.commands.executeCommand('setContext', 'strata.building', this.active.size > 0);
  }

  private cancelled(name: string): BuildOutcome {
    this.ctx.channel.warn(`${name}: cancelled`);
    void vscode.window.showInformationMessage(`Strata: ${name} cancelled.`);
    return { status: 'cancelled' };
  }

  private reportSuccess(action: ServerAction, name: string, result: BuildResult): void {
    const digest = result.imageDigest ? ` (${shortDigest(result.imageDigest)})` : '';
    this.ctx.channel.info(`${name}: ${result.state}${digest}`);
    if (action === 'verify' && result.state === 'drift') {
      const steps = (result.drift ?? [])
        .map((d) => `${d.step} (${d.files.slice(0, 3).join(', ')})`)
        .join('; ');
      void this.showFailure(`Strata: ${name} does not reproduce strata.lock: ${steps || 'layers differ'}.`);
      return;
    }
    const text =
      action === 'verify'
        ? `Strata: ${name} reproduced: every layer matches strata.lock${digest}.`
        : `Strata: ${name} ${VERB[action][1]}${result.state === 'locked' ? ' and locked' : ''}${digest}.`;
    void vscode.window.showInformationMessage(text);
  }

  private reportFailure(action: ServerAction, spec: vscode.Uri, e: unknown): BuildOutcome {
    const data = isResponseError(e) ? (e.data as CommandErrorData | undefined) : undefined;
    const message = e instanceof Error ? e.message : String(e);
    const full = data?.hint ? `${message} (hint: ${data.hint})` : message;
    this.ctx.channel.error(`${specLabel(spec)}: ${action} failed: ${full}`);
    void this.showFailure(
      `Strata: ${VERB[action][0].toLowerCase()} ${specLabel(spec)} failed: ${full}`,
      spec,
    );
    return { status: 'failed', message, code: data?.code };
  }

  private async showFailure(text: string, spec?: vscode.Uri): Promise<void> {
    const log = 'Show Log';
    const open = 'Open Spec';
    const choice = await vscode.window.showErrorMessage(text, log, ...(spec ? [open] : []));
    if (choice === log) this.ctx.channel.show(true);
    if (choice === open && spec) await vscode.window.showTextDocument(spec);
  }

  dispose(): void {
    this.cancelAll();
  }
}

/** LSP's RequestCancelled (LSPErrorCodes.RequestCancelled), kept here to avoid loading the library. */
const REQUEST_CANCELLED = -32800;

function isResponseError(e: unknown): e is Error & { code: number; data?: unknown } {
  return e instanceof Error && typeof (e as { code?: unknown }).code === 'number';
}

function isCancellation(e: unknown): boolean {
  if (!isResponseError(e)) return false;
  return e.code === REQUEST_CANCELLED || (e.data as CommandErrorData | undefined)?.code === 'CANCELLED';
}

export function shortDigest(digest: string): string {
  return digest.replace(/^sha256:/, 'sha256:').slice(0, 19);
}
