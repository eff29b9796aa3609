// Per-test isolation for registry tests: no ~/.docker or ~/.config of the machine leaks in.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { makeTempDir, removeTree } from '../../../support';

export const run = promisify(execFile);

export interface IsolatedEnv {
  /** DOCKER_CONFIG folder (config.json goes here) and XDG_CONFIG_HOME. */
  dockerConfig: string;
  xdgConfig: string;
  /** The environment for the engine (RegistryClient env) and the CLI. */
  vars: Record<string, string>;
}

/** Mocha hooks giving each test an empty DOCKER_CONFIG and XDG_CONFIG_HOME. */
export function useIsolatedRegistryEnv(): IsolatedEnv {
  const iso: IsolatedEnv = { dockerConfig: '', xdgConfig: '', vars: {} };
  let root = '';
  beforeEach(() => {
    root = makeTempDir('regenv');
    iso.dockerConfig = path.join(root, 'docker');
    iso.xdgConfig = path.join(root, 'xdg');
    fs.mkdirSync(iso.dockerConfig);
    fs.mkdirSync(iso.xdgConfig);
    iso.vars = {
      DOCKER_CONFIG: iso.dockerConfig,
      XDG_CONFIG_HOME: iso.xdgConfig,
      STRATA_REGISTRY_BACKOFF_MS: '20',
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: root,
    };
  });
  afterEach(() => removeTree(root));
  return iso;
}

/** The digest the registry serves for repo:tag (asked with skopeo, a tool other than ours). */
export async function remoteDigest(host: string, repoTag: string): Promise<string> {
  const { stdout } = await run('skopeo', [
    'inspect',
    '--tls-verify=false',
    '--format',
    '{{.Digest}}',
    `docker://${host}/${repoTag}`,
  ]);
  return stdout.trim();
}

/** Files under `dir` (relative paths), for "nothing was stored" checks. */
export function listFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return (fs.readdirSync(dir, { recursive: true }) as string[])
    .filter((f) => fs.statSync(path.join(dir, f)).isFile())
    .sort();
}
