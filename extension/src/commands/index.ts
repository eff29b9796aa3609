// The command table (as rust-analyzer's commands.ts): each contributed command id maps to a
// factory that receives the services and returns the handler. Handlers return a value for tests
// (e.g. the build outcome) and never throw at the user: errors become messages.
import * as vscode from 'vscode';
import type { Ctx } from '../ctx';
import { requireTrust } from '../trust';
import { cliHasCommand, withSpec } from '../cli';
import { resolveSpec, specLabel } from '../specs';
import type { EnvironmentNode } from '../views/environments';
import { BuildRunner, type BuildOutcome, type ServerAction } from './builds';
import type { HostGate } from './hostGate';
import { newSpec } from './newSpec';
import { Terminals } from './terminals';

export interface Services {
  ctx: Ctx;
  builds: BuildRunner;
  terminals: Terminals;
  host: HostGate;
  refresh(): Promise<void>;
}

type Handler = (...args: unknown[]) => unknown;
type Factory = (s: Services) => Handler;

const BLOCKED_UNTRUSTED: BuildOutcome = { status: 'blocked', reason: 'untrusted' };

/** Build-like commands: trust, host check, spec, then the server. */
function serverCommand(action: ServerAction): Factory {
  return (s) => async (arg?: unknown) => {
    if (!requireTrust()) return BLOCKED_UNTRUSTED;
    const spec = await resolveSpec(arg);
    if (!spec) return { status: 'blocked', reason: 'no spec' } satisfies BuildOutcome;
    if (!(await s.host.ensure())) return { status: 'blocked', reason: 'host' } satisfies BuildOutcome;
    return s.builds.run(action, spec);
  };
}

/** Terminal commands: trust, host check, spec, then `strata ARGS` in a terminal. */
function terminalCommand(
  build: (
    s: Services,
    spec: vscode.Uri,
    arg: unknown,
  ) => Promise<{ title: string; args: string[] } | undefined>,
  needsHost = true,
): Factory {
  return (s) => async (arg?: unknown, extra?: unknown) => {
    if (!requireTrust()) return BLOCKED_UNTRUSTED;
    const spec = await resolveSpec(arg);
    if (!spec) return undefined;
    if (needsHost && !(await s.host.ensure())) return undefined;
    const what = await build(s, spec, extra ?? arg);
    return what ? s.terminals.open(spec, what.title, what.args) : undefined;
  };
}

/** The store name of the spec's image (strata/NAME); tells the user to build first when unknown. */
async function imageName(s: Services, spec: vscode.Uri): Promise<string | undefined> {
  await s.ctx.refreshInfo(spec);
  const view = s.ctx.store.get(spec);
  if (view.info?.name && view.imageDigest) return `strata/${view.info.name}`;
  void vscode.window.showWarningMessage(
    `Strata: build ${specLabel(spec)} first; there is no image to send yet.`,
  );
  return undefined;
}

async function pickWorkload(s: Services, spec: vscode.Uri, arg: unknown): Promise<string | undefined> {
  if (typeof arg === 'string' && !arg.includes('/') && !arg.includes(':')) return arg;
  const node = arg as EnvironmentNode | undefined;
  if (node && typeof node === 'object' && 'kind' in node && node.kind === 'workload') return node.workload;
  await s.ctx.refreshInfo(spec);
  const workloads = s.ctx.store.get(spec).info?.workloads ?? [];
  if (workloads.length === 1) return workloads[0];
  if (workloads.length === 0) {
    void vscode.window.showWarningMessage(
      'Strata: this spec has no workloads. Add one under "workloads:" (a name with a "command").',
    );
    return undefined;
  }
  return vscode.window.showQuickPick(workloads, { placeHolder: 'Which workload?' });
}

export const commandTable: Record<string, Factory> = {
  'strata.buildEnvironment': serverCommand('build'),
  'strata.rebuildEnvironment': serverCommand('rebuild'),
  'strata.verifyEnvironment': serverCommand('verify'),
  'strata.updateLock': serverCommand('lock'),
  'strata.cancelBuild': (s) => () => s.builds.cancelAll(),
  'strata.runWorkload': terminalCommand(async (s, spec, arg) => {
    const workload = await pickWorkload(s, spec, arg);
    return workload ? { title: workload, args: withSpec(spec, 'run', workload) } : undefined;
  }),
  'strata.openShell': terminalCommand(async (_s, spec) => ({
    title: `shell (${specLabel(spec)})`,
    args: withSpec(spec, 'shell'),
  })),
  'strata.pushImage': terminalCommand(async (s, spec) => {
    const image = await imageName(s, spec);
    if (!image) return undefined;
    const ref = await vscode.window.showInputBox({
      title: `Push ${image}`,
      prompt: 'Destination reference, e.g. ghcr.io/lab/seismic:1.0 (only missing layers are uploaded)',
      validateInput: (v) =>
        /^[a-z0-9.-]+(:\d+)?\/[^\s]+$/.test(v.trim()) ? undefined : 'expected REGISTRY/REPOSITORY[:TAG]',
    });
    return ref ? { title: `push ${ref.trim()}`, args: ['push', image, ref.trim()] } : undefined;
  }),
  'strata.exportImage': terminalCommand(async (s, spec) => {
    const image = await imageName(s, spec);
    if (!image) return undefined;
    if (!(await cliHasCommand(s.ctx.config, spec, 'export'))) {
      // The CLI of this version has no `export`; the store is a standard OCI layout already.
      const store = s.ctx.config.storePath ?? '$STRATA_HOME (default ~/.local/share/strata)';
      void vscode.window.showInformationMessage(
        `Strata: this version cannot write an image archive yet. ${image} is in the OCI layout ` +
          `${store}/oci; other tools read it directly, e.g. skopeo copy oci:${store}/oci:${image} oci-archive:image.tar`,
      );
      return undefined;
    }
    const target = await vscode.window.showSaveDialog({
      title: `Export ${image}`,
      defaultUri: vscode.Uri.joinPath(spec, '..', 'image.tar'),
      filters: { 'OCI archive': ['tar'] },
    });
    return target ? { title: 'export', args: ['export', image, target.fsPath] } : undefined;
  }),
  'strata.cleanUp': terminalCommand(async () => ({ title: 'clean up', args: ['gc'] }), false),
  'strata.showLogs': (s) => () => s.ctx.channel.show(true),
  'strata.checkSystem': (s) => async () => {
    const { facts, problem } = await s.host.check(true);
    if (problem) await s.host.ensure();
    else
      void vscode.window.showInformationMessage(
        `Strata can build here: kernel ${facts.kernelRelease}, user namespaces and overlay available, helper runs.`,
      );
    return problem ?? 'ok';
  },
  'strata.newSpec': () => () => newSpec(),
  'strata.refreshEnvironments': (s) => () => s.refresh(),
  'strata.openRunRecord': () => async (node?: unknown) => {
    const n = node as EnvironmentNode | undefined;
    if (!n || n.kind !== 'run') return;
    await vscode.window.showTextDocument(vscode.Uri.file(n.run.recordPath), { preview: true });
  },
};

export function registerCommands(s: Services): vscode.Disposable[] {
  return Object.entries(commandTable).map(([id, factory]) => vscode.commands.registerCommand(id, factory(s)));
}
