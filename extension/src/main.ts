// Extension entry point: activate() builds the context object (which owns the language client and
// every disposable), registers the command table, the Environments view, the status bar and the
// task provider. It does not wait for the server: commands that need it wait on ctx.whenReady().
import * as vscode from 'vscode';
import { actionForServerCommand, BuildRunner } from './commands/builds';
import { HostGate } from './commands/hostGate';
import { commandTable, registerCommands, type Services } from './commands';
import { Terminals } from './commands/terminals';
import { Config } from './config';
import { Ctx } from './ctx';
import { SPEC_GLOB } from './globs';
import { findSpecs } from './specs';
import { StatusBar } from './statusBar';
import { StrataTaskProvider, TASK_TYPE } from './tasks';
import { EnvironmentsProvider } from './views/environments';

// When this bundle's imports had been evaluated (performance.now() of the extension host), for the
// activation benchmark's breakdown.
const modulesEvaluatedAt = performance.now();

/** What activate() returns: read by the e2e tests, and by other extensions that want to know. */
export interface StrataApi {
  ctx: Ctx;
  environments: EnvironmentsProvider;
  statusBar: StatusBar;
  services: Services;
  /** Resolves when the language server is up. */
  ready: Promise<unknown>;
  /** performance.now() marks of activation, for the benchmark. */
  timings: { modulesEvaluatedAt: number; activateStartedAt: number; activateEndedAt: number };
}

let current: Ctx | undefined;

export function activate(context: vscode.ExtensionContext): StrataApi {
  const activateStartedAt = performance.now();
  const ctx = new Ctx(context);
  current = ctx;
  const builds = new BuildRunner(ctx);
  const terminals = new Terminals(ctx);
  const host = new HostGate(ctx);
  const environments = new EnvironmentsProvider(ctx.store);
  const statusBar = new StatusBar(ctx.store);

  const refresh = async (): Promise<void> => {
    const specs = await findSpecs();
    ctx.store.setSpecs(specs);
    await Promise.all(specs.map((s) => ctx.refreshInfo(s)));
  };
  const services: Services = { ctx, builds, terminals, host, refresh };

  // A code lens's strata.build goes through the same path as the palette's Build.
  ctx.executeServerCommand = async (command, args) => {
    const action = actionForServerCommand(command);
    if (!action) return ctx.client.sendRequest('workspace/executeCommand', { command, arguments: args });
    const id = {
      build: 'strata.buildEnvironment',
      rebuild: 'strata.rebuildEnvironment',
      verify: 'strata.verifyEnvironment',
      lock: 'strata.updateLock',
    }[action];
    return commandTable[id]!(services)(args[0]);
  };

  const watcher = vscode.workspace.createFileSystemWatcher(SPEC_GLOB);
  const onSpecsChanged = () => void refresh();
  ctx.push(
    builds,
    terminals,
    environments,
    statusBar,
    watcher,
    watcher.onDidCreate(onSpecsChanged),
    watcher.onDidDelete(onSpecsChanged),
    ...registerCommands(services),
    vscode.window.createTreeView('strata.environments', {
      treeDataProvider: environments,
      showCollapseAll: true,
    }),
    vscode.tasks.registerTaskProvider(TASK_TYPE, new StrataTaskProvider(ctx)),
    vscode.workspace.onDidGrantWorkspaceTrust(() => {
      ctx.channel.info('workspace trusted: restarting the server with build and run enabled');
      void ctx.restart();
    }),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (!Config.affectsServer(e)) return;
      host.reset();
      ctx.channel.info('settings changed: restarting the server');
      void ctx.restart().then(refresh);
    }),
  );
  context.subscriptions.push({ dispose: () => void ctx.dispose() });

  const ready = ctx.whenReady().then(refresh, (e: unknown) => {
    const message = e instanceof Error ? e.message : String(e);
    ctx.channel.error(`the language server did not start: ${message}`);
    void vscode.window
      .showErrorMessage(`Strata: the language server did not start: ${message}`, 'Show Log')
      .then((c) => {
        if (c) ctx.channel.show(true);
      });
  });
  const timings = { modulesEvaluatedAt, activateStartedAt, activateEndedAt: performance.now() };
  return { ctx, environments, statusBar, services, ready, timings };
}

export async function deactivate(): Promise<void> {
  await current?.dispose();
  current = undefined;
}
