// The Environments tree: each spec with its state and image digest; under it the layers (size and
// digest), the workloads (with an inline run button) and the recent runs (exit status; opening a
// run shows its record). Everything comes from the EnvironmentStore.
import * as vscode from 'vscode';
import type { RunSummary } from '../../../server/src/protocol';
import type { EnvironmentStore, EnvironmentView, Info } from '../state';
import { specLabel } from '../specs';
import { describeState, stateIcon } from './presentation';

export type EnvironmentNode =
  | { kind: 'spec'; spec: vscode.Uri }
  | { kind: 'group'; spec: vscode.Uri; group: 'layers' | 'workloads' | 'runs' }
  | { kind: 'layer'; spec: vscode.Uri; layer: Info['layers'][number]; index: number }
  | { kind: 'workload'; spec: vscode.Uri; workload: string }
  | { kind: 'run'; spec: vscode.Uri; run: RunSummary }
  | { kind: 'message'; spec: vscode.Uri; text: string };

const GROUP_LABEL = { layers: 'Layers', workloads: 'Workloads', runs: 'Recent runs' } as const;
const MAX_RUNS = 10;

export class EnvironmentsProvider implements vscode.TreeDataProvider<EnvironmentNode>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<EnvironmentNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly subscription: vscode.Disposable;

  constructor(private readonly store: EnvironmentStore) {
    // Spec nodes are plain objects; refreshing the root re-reads them all (the tree is small).
    this.subscription = store.onDidChange(() => this.changed.fire(undefined));
  }

  getChildren(node?: EnvironmentNode): EnvironmentNode[] {
    if (!node) return this.store.all().map((v) => ({ kind: 'spec', spec: v.uri }));
    const view = this.store.get(node.spec);
    if (node.kind === 'spec') {
      const groups: EnvironmentNode[] = [];
      if (view.info?.layers.length) groups.push({ kind: 'group', spec: node.spec, group: 'layers' });
      if (view.info?.workloads.length) groups.push({ kind: 'group', spec: node.spec, group: 'workloads' });
      if (view.info?.runs?.length) groups.push({ kind: 'group', spec: node.spec, group: 'runs' });
      if (groups.length === 0)
        return [
          {
            kind: 'message',
            spec: node.spec,
            text: view.state === 'not-built' ? 'not built yet' : 'no details',
          },
        ];
      return groups;
    }
    if (node.kind !== 'group' || !view.info) return [];
    const info = view.info;
    if (node.group === 'layers')
      return info.layers.map((layer, index) => ({ kind: 'layer', spec: node.spec, layer, index }));
    if (node.group === 'workloads')
      return info.workloads.map((workload) => ({ kind: 'workload', spec: node.spec, workload }));
    return (info.runs ?? []).slice(0, MAX_RUNS).map((run) => ({ kind: 'run', spec: node.spec, run }));
  }

  getTreeItem(node: EnvironmentNode): vscode.TreeItem {
    switch (node.kind) {
      case 'spec':
        return specItem(this.store.get(node.spec));
      case 'group': {
        const item = new vscode.TreeItem(GROUP_LABEL[node.group], vscode.TreeItemCollapsibleState.Expanded);
        item.id = `${node.spec.toString()}#${node.group}`;
        item.contextValue = `group.${node.group}`;
        return item;
      }
      case 'layer': {
        const l = node.layer;
        const item = new vscode.TreeItem(l.step ?? `base layer ${node.index + 1}`);
        item.id = `${node.spec.toString()}#layer#${node.index}#${l.digest}`;
        item.description = `${formatSize(l.size)} · ${short(l.digest)}`;
        item.tooltip = new vscode.MarkdownString(
          `**${l.step ?? `base layer ${node.index + 1}`}**\n\n- digest: \`${l.digest}\`\n- diff_id: \`${l.diffId}\`\n- size: ${l.size} bytes`,
        );
        item.iconPath = new vscode.ThemeIcon('layers');
        item.contextValue = 'layer';
        return item;
      }
      case 'workload': {
        const item = new vscode.TreeItem(node.workload);
        item.id = `${node.spec.toString()}#workload#${node.workload}`;
        item.iconPath = new vscode.ThemeIcon('play-circle');
        item.contextValue = 'workload';
        item.tooltip = `Run workload '${node.workload}' in a terminal`;
        return item;
      }
      case 'run': {
        const r = node.run;
        const item = new vscode.TreeItem(`${r.workload}`);
        item.id = `${node.spec.toString()}#run#${r.id}`;
        item.description = `exit ${r.exitCode} · ${formatTime(r.startedAt)}`;
        item.iconPath = new vscode.ThemeIcon(
          r.exitCode === 0 ? 'pass' : 'error',
          new vscode.ThemeColor(r.exitCode === 0 ? 'testing.iconPassed' : 'testing.iconFailed'),
        );
        item.tooltip = `run ${r.id}: exit ${r.exitCode}, started ${r.startedAt}\n${r.recordPath}`;
        item.contextValue = 'run';
        item.command = { command: 'strata.openRunRecord', title: 'Open Run Record', arguments: [node] };
        return item;
      }
      case 'message': {
        const item = new vscode.TreeItem(node.text);
        item.contextValue = 'message';
        return item;
      }
    }
  }

  dispose(): void {
    this.subscription.dispose();
    this.changed.dispose();
  }
}

function specItem(view: EnvironmentView): vscode.TreeItem {
  const item = new vscode.TreeItem(
    view.info?.name ?? specLabel(view.uri),
    vscode.TreeItemCollapsibleState.Collapsed,
  );
  item.id = view.uri.toString();
  item.resourceUri = view.uri;
  const digest = view.imageDigest ? ` · ${short(view.imageDigest)}` : '';
  item.description = `${describeState(view.state, view.detail)}${digest}`;
  item.iconPath = stateIcon(view.state);
  item.tooltip = new vscode.MarkdownString(
    `**${specLabel(view.uri)}**: ${describeState(view.state, view.detail)}` +
      (view.imageDigest ? `\n\nimage \`${view.imageDigest}\`` : '') +
      `\n\n${view.uri.fsPath}`,
  );
  item.contextValue = `spec.${view.state}`;
  item.command = { command: 'vscode.open', title: 'Open Spec', arguments: [view.uri] };
  return item;
}

function short(digest: string): string {
  return digest.replace(/^sha256:/, '').slice(0, 12);
}

export function formatSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
}

function formatTime(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString();
}
