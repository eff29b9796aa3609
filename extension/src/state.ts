// What the client knows about each environment (spec file): the last strata/status notification
// and the last strata/environmentInfo answer. Views and the status bar render from here only.
import * as vscode from 'vscode';
import type {
  EnvironmentInfo,
  EnvironmentInfoExtras,
  EnvironmentState,
  StatusParams,
} from '../../server/src/protocol';

export type Info = EnvironmentInfo & EnvironmentInfoExtras;

export interface EnvironmentView {
  uri: vscode.Uri;
  state: EnvironmentState;
  detail?: string;
  imageDigest?: string;
  info?: Info;
}

export class EnvironmentStore implements vscode.Disposable {
  private readonly views = new Map<string, EnvironmentView>();
  private readonly changed = new vscode.EventEmitter<vscode.Uri | undefined>();
  /** Fires with the spec whose view changed, or undefined when the set of specs changed. */
  readonly onDidChange = this.changed.event;

  get(uri: vscode.Uri): EnvironmentView {
    return this.views.get(uri.toString()) ?? { uri, state: 'not-built' };
  }

  all(): EnvironmentView[] {
    return [...this.views.values()];
  }

  /** Replaces the set of known specs, keeping what is known about the ones that remain. */
  setSpecs(uris: vscode.Uri[]): void {
    const keep = new Map<string, EnvironmentView>();
    for (const uri of uris)
      keep.set(uri.toString(), this.views.get(uri.toString()) ?? { uri, state: 'not-built' });
    this.views.clear();
    for (const [k, v] of keep) this.views.set(k, v);
    this.changed.fire(undefined);
  }

  applyStatus(status: StatusParams): void {
    const uri = vscode.Uri.parse(status.uri);
    const view = this.get(uri);
    this.views.set(uri.toString(), {
      ...view,
      state: status.state,
      detail: status.detail,
      imageDigest: status.imageDigest ?? (status.state === 'not-built' ? undefined : view.imageDigest),
    });
    this.changed.fire(uri);
  }

  applyInfo(info: Info): void {
    const uri = vscode.Uri.parse(info.uri);
    const view = this.get(uri);
    // While a build runs, the live status wins over a snapshot taken before it started.
    const state = view.state === 'building' ? view.state : info.state;
    this.views.set(uri.toString(), {
      ...view,
      state,
      imageDigest: info.imageDigest ?? view.imageDigest,
      info,
    });
    this.changed.fire(uri);
  }

  dispose(): void {
    this.changed.dispose();
  }
}
