// A real VS Code for the e2e suite: code-server 4.96.4 (VS Code 1.96.4), installed by
// .ci/setup-e2e into a cache outside the clone, started on a free loopback port with its own HOME,
// user data and extensions folders, and stopped with its whole process group.
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { freePort } from '../../support/net';

export const CODE_SERVER_VERSION = '4.96.4';

/** Where .ci/setup-e2e installs code-server (first that exists wins); STRATA_CODE_SERVER overrides. */
export function codeServerCandidates(): string[] {
  const rel = path.join(`code-server-${CODE_SERVER_VERSION}`, 'node_modules', '.bin', 'code-server');
  const env = process.env;
  return [
    ...(env.STRATA_CODE_SERVER ? [env.STRATA_CODE_SERVER] : []),
    ...(env.STRATA_CODE_SERVER_CACHE ? [path.join(env.STRATA_CODE_SERVER_CACHE, rel)] : []),
    path.join('/var/cache/strata', rel),
    path.join(env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'strata', rel),
  ];
}

export function findCodeServer(): string | undefined {
  return codeServerCandidates().find((p) => fs.existsSync(p));
}

export interface CodeServerOptions {
  binary: string;
  /** Scratch folder: HOME, user data, extensions, log. */
  dir: string;
  workspace: string;
  /** Workspace trust on (false: --disable-workspace-trust, everything trusted). */
  trust: boolean;
  env: Record<string, string>;
  settings?: Record<string, unknown>;
}

export interface CodeServer {
  url: string;
  host: string;
  log: string;
  extensionsDir: string;
  stop(): Promise<void>;
}

const BASE_SETTINGS = {
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'workbench.enableExperiments': false,
  'telemetry.telemetryLevel': 'off',
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'update.mode': 'none',
  'git.enabled': false,
  'security.workspace.trust.startupPrompt': 'never',
  'security.workspace.trust.banner': 'never',
  'security.workspace.trust.untrustedFiles': 'open',
  'terminal.integrated.enablePersistentSessions': false,
};

export async function startCodeServer(o: CodeServerOptions): Promise<CodeServer> {
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  const home = path.join(o.dir, 'home');
  const userData = path.join(o.dir, 'user-data');
  const extensionsDir = path.join(o.dir, 'extensions');
  for (const d of [home, path.join(userData, 'User'), extensionsDir]) fs.mkdirSync(d, { recursive: true });
  fs.writeFileSync(
    path.join(userData, 'User', 'settings.json'),
    JSON.stringify({ ...BASE_SETTINGS, ...o.settings }, null, 2),
  );
  const log = path.join(o.dir, 'code-server.log');
  const out = fs.openSync(log, 'w');
  const args = [
    '--bind-addr',
    host,
    '--auth',
    'none',
    '--disable-telemetry',
    '--disable-update-check',
    '--disable-getting-started-override',
    ...(o.trust ? [] : ['--disable-workspace-trust']),
    '--user-data-dir',
    userData,
    '--extensions-dir',
    extensionsDir,
    o.workspace,
  ];
  const child: ChildProcess = spawn(o.binary, args, {
    detached: true, // its own process group: stop() kills code-server, the extension host and the server
    stdio: ['ignore', out, out],
    env: { ...process.env, HOME: home, XDG_CONFIG_HOME: path.join(home, '.config'), ...o.env },
  });
  fs.closeSync(out);
  const started = Date.now();
  for (;;) {
    try {
      if ((await fetch(`http://${host}/healthz`)).ok) break;
    } catch {
      /* not up yet */
    }
    if (child.exitCode !== null || Date.now() - started > 60000) {
      killGroup(child);
      throw new Error(`code-server did not answer on ${host}:\n${fs.readFileSync(log, 'utf8').slice(-3000)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url: `http://${host}`,
    host,
    log,
    extensionsDir,
    async stop() {
      killGroup(child, 'SIGTERM');
      for (let i = 0; i < 50 && groupAlive(child); i++) await new Promise((r) => setTimeout(r, 100));
      killGroup(child, 'SIGKILL');
    },
  };
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals = 'SIGKILL'): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    /* already gone */
  }
}

function groupAlive(child: ChildProcess): boolean {
  if (child.pid === undefined) return false;
  try {
    process.kill(-child.pid, 0);
    return true;
  } catch {
    return false;
  }
}
