// The context object (as rust-analyzer's ctx.ts): owns the language client, the output channel,
// the environment store and every disposable, so that deactivate() and a restart leave nothing.
import * as vscode from 'vscode';
import type { LanguageClient } from 'vscode-languageclient/node';
import type { EnvironmentInfo, EnvironmentInfoExtras } from '../../server/src/protocol';
import type { ExecuteCommandHook } from './client';
import { Config } from './config';
import { loadLsp, type Lsp } from './lazy';
import { EnvironmentStore } from './state';

export class Ctx implements vscode.Disposable {
  readonly config: Config;
  /** Build output, the client's own messages and the server's log, in one place. */
  readonly channel: vscode.LogOutputChannel;
  readonly store = new EnvironmentStore();
  private languageClient: LanguageClient | undefined;
  private readonly subscriptions: vscode.Disposable[] = [];
  private readonly clientSubscriptions: vscode.Disposable[] = [];
  /** The client library, once loaded (after activation; see lazy.ts). */
  lsp: Lsp | undefined;
  /** Set by main.ts: how a server command (code lens) is executed by the client. */
  executeServerCommand: ExecuteCommandHook = () => Promise.reject(new Error('not ready'));

  constructor(readonly extension: vscode.ExtensionContext) {
    this.config = new Config(extension.extensionPath);
    this.channel = vscode.window.createOutputChannel('Strata', { log: true });
    this.subscriptions.push(this.channel, this.store);
  }

  get client(): LanguageClient {
    if (!this.languageClient) throw new Error('the Strata language server is not running');
    return this.languageClient;
  }

  get isRunning(): boolean {
    return this.languageClient?.isRunning() ?? false;
  }

  push(...disposables: vscode.Disposable[]): void {
    this.subscriptions.push(...disposables);
  }

  private starting: Promise<void> | undefined;

  /** The running client; starts it on first use (activation does not wait for the server). */
  async whenReady(): Promise<LanguageClient> {
    this.starting ??= this.start();
    await this.starting;
    return this.client;
  }

  private async start(): Promise<void> {
    // Let activation finish first: evaluating the client library is not on the activation path.
    await new Promise((resolve) => setImmediate(resolve));
    const lsp = await loadLsp();
    this.lsp = lsp;
    const { createLanguageClient, StatusNotification, LogNotification } = lsp;
    const client = createLanguageClient(this.config, this.channel, (c, a) => this.executeServerCommand(c, a));
    this.languageClient = client;
    await client.start();
    this.clientSubscriptions.push(
      client.onNotification(StatusNotification.type, (status) => {
        this.store.applyStatus(status);
        if (status.state !== 'building') void this.refreshInfo(vscode.Uri.parse(status.uri));
      }),
      client.onNotification(LogNotification.type, (log) => this.channel[log.level](log.text)),
    );
  }

  async stop(): Promise<void> {
    for (const d of this.clientSubscriptions.splice(0)) d.dispose();
    await this.starting?.catch(() => undefined);
    this.starting = undefined;
    const client = this.languageClient;
    this.languageClient = undefined;
    if (client?.needsStop()) await client.stop();
  }

  /** Restarts the server, e.g. after a setting it was started with changed, or trust was granted. */
  async restart(): Promise<void> {
    await this.stop();
    await this.whenReady();
  }

  /**
   * Asks the server for layers, workloads and recent runs of one spec (the server reads the run
   * records; nothing is spawned here); failures go to the log only.
   */
  async refreshInfo(uri: vscode.Uri): Promise<void> {
    if (!this.isRunning || !this.lsp) return;
    try {
      const info = (await this.client.sendRequest(this.lsp.EnvironmentInfoRequest.type, {
        uri: uri.toString(),
      })) as (EnvironmentInfo & EnvironmentInfoExtras) | null;
      if (info) this.store.applyInfo(info);
    } catch (e) {
      this.channel.debug(`environmentInfo ${uri.fsPath}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  async dispose(): Promise<void> {
    await this.stop();
    for (const d of this.subscriptions.splice(0).reverse()) d.dispose();
  }
}
