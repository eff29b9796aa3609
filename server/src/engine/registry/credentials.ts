// Credentials from Docker's client config, so `docker login`, `podman login --authfile` and the
// credential helpers people already use keep working. Looked up the way the docker CLI does:
//   1. credHelpers[host]      -> docker-credential-<helper> get
//   2. credsStore             -> docker-credential-<store> get   (falls back to auths when empty)
//   3. auths[host]            -> "auth" (base64 user:password), username/password,
//                                identitytoken (OAuth2 refresh token), registrytoken (bearer token)
// $DOCKER_CONFIG/config.json, else ~/.docker/config.json. Docker Hub's key is the historical
// "https://index.docker.io/v1/"; "docker.io", "index.docker.io" and "registry-1.docker.io" find it.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { StrataError } from '../errors';

export type Credential =
  | { kind: 'basic'; username: string; password: string }
  /** An OAuth2 refresh token, exchanged at the token endpoint (credential helpers' "<token>" user). */
  | { kind: 'identity-token'; token: string; username?: string }
  /** A ready bearer token sent as is. */
  | { kind: 'registry-token'; token: string };

interface DockerConfigFile {
  auths?: Record<
    string,
    { auth?: string; username?: string; password?: string; identitytoken?: string; registrytoken?: string }
  >;
  credsStore?: string;
  credHelpers?: Record<string, string>;
}

const DOCKER_HUB_KEY = 'https://index.docker.io/v1/';
const DOCKER_HUB_NAMES = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io']);

export function dockerConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  const dir = env.DOCKER_CONFIG || path.join(env.HOME || os.homedir(), '.docker');
  return path.join(dir, 'config.json');
}

/** "https://host:port/v1/" -> "host:port"; Docker Hub's names -> "docker.io". */
function normaliseKey(key: string): string {
  const host = key.replace(/^[a-z]+:\/\//i, '').replace(/\/.*$/, '');
  return DOCKER_HUB_NAMES.has(host) ? 'docker.io' : host;
}

/** What a credential helper is asked for: Docker Hub under its historical URL, else the host. */
function helperServerUrl(host: string): string {
  return normaliseKey(host) === 'docker.io' ? DOCKER_HUB_KEY : host;
}

export class CredentialStore {
  private file: DockerConfigFile | undefined;
  private readonly cache = new Map<string, Promise<Credential | undefined>>();

  constructor(
    private readonly env: NodeJS.ProcessEnv = process.env,
    readonly configPath = dockerConfigPath(env),
  ) {}

  private load(): DockerConfigFile {
    if (this.file) return this.file;
    let text: string;
    try {
      text = fs.readFileSync(this.configPath, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return (this.file = {});
      throw new StrataError(
        'REGISTRY',
        `cannot read ${this.configPath}: ${(e as Error).message}`,
        'check its permissions',
        { cause: e },
      );
    }
    try {
      const parsed = JSON.parse(text) as unknown;
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
        throw new Error('not a JSON object');
      this.file = parsed as DockerConfigFile;
    } catch (e) {
      throw new StrataError(
        'REGISTRY',
        `${this.configPath} is not valid JSON: ${(e as Error).message}`,
        'fix the file, or run "docker login" again',
        { cause: e },
      );
    }
    return this.file;
  }

  /** Credentials for a registry host (host[:port]), or undefined for anonymous access. */
  get(host: string): Promise<Credential | undefined> {
    const key = normaliseKey(host);
    let found = this.cache.get(key);
    if (!found) {
      found = this.lookup(key);
      this.cache.set(key, found);
    }
    return found;
  }

  private async lookup(key: string): Promise<Credential | undefined> {
    const config = this.load();
    const helpers = config.credHelpers ?? {};
    const helper = Object.entries(helpers).find(([k]) => normaliseKey(k) === key)?.[1];
    if (helper) return this.fromHelper(helper, key);
    if (config.credsStore) {
      const fromStore = await this.fromHelper(config.credsStore, key);
      if (fromStore) return fromStore;
    }
    return this.fromAuths(config, key);
  }

  private fromAuths(config: DockerConfigFile, key: string): Credential | undefined {
    const entry = Object.entries(config.auths ?? {}).find(([k]) => normaliseKey(k) === key)?.[1];
    if (!entry) return undefined;
    const where = `${this.configPath} (auths["${key}"])`;
    if (entry.registrytoken) return { kind: 'registry-token', token: entry.registrytoken };
    let username = entry.username;
    let password = entry.password;
    if (entry.auth) {
      const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon < 0) {
        throw new StrataError(
          'REGISTRY',
          `${where}: "auth" is not base64 of "user:password"`,
          `run "docker login ${key}" again`,
        );
      }
      username = decoded.slice(0, colon);
      password = decoded.slice(colon + 1);
    }
    if (entry.identitytoken) return { kind: 'identity-token', token: entry.identitytoken, username };
    if (username !== undefined && password !== undefined) return { kind: 'basic', username, password };
    return undefined;
  }

  /** Runs `docker-credential-NAME get` with the server URL on stdin (the helper protocol). */
  private async fromHelper(name: string, key: string): Promise<Credential | undefined> {
    if (!/^[A-Za-z0-9._-]+$/.test(name)) {
      throw new StrataError(
        'REGISTRY',
        `${this.configPath}: credential helper name "${name}" is not valid`,
        'use the helper\'s short name, e.g. "pass" for docker-credential-pass',
      );
    }
    const program = `docker-credential-${name}`;
    const { code, stdout, stderr, spawnError } = await runHelper(program, helperServerUrl(key), this.env);
    if (spawnError) {
      throw new StrataError(
        'REGISTRY',
        `credential helper ${program} (for ${key}, set in ${this.configPath}) could not be run: ${spawnError.message}`,
        `install ${program} on PATH, or remove it from ${this.configPath}`,
      );
    }
    if (code !== 0) {
      const said = (stdout + stderr).trim();
      // The helper protocol's "not found" answer: anonymous access, not an error.
      if (/credentials not found/i.test(said)) return undefined;
      throw new StrataError(
        'REGISTRY',
        `credential helper ${program} failed for ${key} (exit ${code}): ${said || 'no message'}`,
        `check "${program} get" by hand, or log in again`,
      );
    }
    let answer: { Username?: unknown; Secret?: unknown };
    try {
      answer = JSON.parse(stdout) as typeof answer;
    } catch {
      throw new StrataError(
        'REGISTRY',
        `credential helper ${program} answered something that is not JSON for ${key}`,
        'it must print {"ServerURL":…,"Username":…,"Secret":…}',
      );
    }
    if (typeof answer.Username !== 'string' || typeof answer.Secret !== 'string') {
      throw new StrataError(
        'REGISTRY',
        `credential helper ${program} answered without Username and Secret for ${key}`,
        'it must print {"ServerURL":…,"Username":…,"Secret":…}',
      );
    }
    if (answer.Username === '<token>') return { kind: 'identity-token', token: answer.Secret };
    return { kind: 'basic', username: answer.Username, password: answer.Secret };
  }
}

interface HelperResult {
  code: number | null;
  stdout: string;
  stderr: string;
  spawnError?: Error;
}

function runHelper(program: string, input: string, env: NodeJS.ProcessEnv): Promise<HelperResult> {
  return new Promise((resolve) => {
    const child = spawn(program, ['get'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), 30000);
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', (e) => {
      clearTimeout(timer);
      resolve({ code: null, stdout, stderr, spawnError: e });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.on('error', () => {}); // the helper may exit before reading
    child.stdin.end(input);
  });
}
