// Typed access to the `strata.*` settings (as rust-analyzer's config.ts): one getter per setting,
// and the environment that every Strata process started by the client (server, CLI) receives.
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';

const SECTION = 'strata';

export class Config {
  constructor(private readonly extensionPath: string) {}

  private get cfg(): vscode.WorkspaceConfiguration {
    return vscode.workspace.getConfiguration(SECTION);
  }

  /** The strata-box helper: the setting, else the one bundled with the extension. */
  get helperPath(): string {
    const configured = this.cfg.get<string>('helperPath', '').trim();
    return configured
      ? expandHome(configured)
      : path.join(this.extensionPath, 'native', 'build', 'strata-box');
  }

  /** $STRATA_HOME when the setting is given; undefined leaves the engine's default. */
  get storePath(): string | undefined {
    const configured = this.cfg.get<string>('storePath', '').trim();
    return configured ? expandHome(configured) : undefined;
  }

  /** Mirrors as `docker.io=http://…` pairs, or undefined to keep the inherited environment. */
  get registryMirrors(): string | undefined {
    const mirrors = this.cfg.get<Record<string, string>>('registryMirrors', {});
    const pairs = Object.entries(mirrors).filter(([host, url]) => host && typeof url === 'string' && url);
    return pairs.length ? pairs.map(([host, url]) => `${host}=${url}`).join(',') : undefined;
  }

  /** The bundled CLI (out/cli.js) run by the extension host's own Node. */
  get cliPath(): string {
    return path.join(this.extensionPath, 'out', 'cli.js');
  }

  get serverPath(): string {
    return path.join(this.extensionPath, 'out', 'server.js');
  }

  /** Variables for the server and CLI processes: what the settings say, on top of process.env. */
  processEnv(): Record<string, string> {
    const env: Record<string, string> = { STRATA_BOX: this.helperPath };
    const store = this.storePath;
    if (store) env.STRATA_HOME = store;
    const mirrors = this.registryMirrors;
    if (mirrors) env.STRATA_REGISTRY_MIRRORS = mirrors;
    return env;
  }

  /** True when a change touches a setting the server process was started with. */
  static affectsServer(e: vscode.ConfigurationChangeEvent): boolean {
    return ['helperPath', 'storePath', 'registryMirrors'].some((k) =>
      e.affectsConfiguration(`${SECTION}.${k}`),
    );
  }
}

function expandHome(p: string): string {
  return p === '~' || p.startsWith('~/') ? path.join(os.homedir(), p.slice(1)) : p;
}
