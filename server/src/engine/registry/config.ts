// Where to reach a registry: its mirrors, then the registry itself, over HTTPS unless the host is
// loopback or marked insecure (DESIGN §6). Two sources, both optional:
//
//   $XDG_CONFIG_HOME/strata/config.yaml (else ~/.config/strata/config.yaml)
//     registries:
//       docker.io:
//         mirrors: [http://127.0.0.1:5000, https://mirror.example.org]
//       registry.lab.internal:5000:
//         insecure: true
//
//   STRATA_REGISTRY_MIRRORS=docker.io=http://127.0.0.1:5000[,HOST=URL...]
//     (comma-separated; tried before the file's mirrors; a host may appear more than once)
//
// Mirrors are used for pulls only, as containerd does; pushes go to the registry itself.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node } from 'yaml';
import { StrataError } from '../errors';

/** One place to send requests for a registry: a mirror or the registry itself. */
export interface Endpoint {
  /** "http://127.0.0.1:5000" or "https://registry-1.docker.io" (scheme, host, optional path prefix). */
  base: string;
  /** host[:port] of `base`, the key for credentials. */
  host: string;
  /** The registry this endpoint serves ("docker.io"). */
  registry: string;
  mirror: boolean;
}

export interface RegistryHostConfig {
  mirrors: string[];
  insecure: boolean;
}

export interface RegistryConfig {
  hosts: Map<string, RegistryHostConfig>;
  /** Where the file settings came from (for messages), if a file was read. */
  file?: string;
}

const DOCKER_HUB_API = 'https://registry-1.docker.io';

export function configFilePath(env: NodeJS.ProcessEnv = process.env): string {
  const base =
    env.XDG_CONFIG_HOME && path.isAbsolute(env.XDG_CONFIG_HOME)
      ? env.XDG_CONFIG_HOME
      : path.join(env.HOME || os.homedir(), '.config');
  return path.join(base, 'strata', 'config.yaml');
}

/** True for hosts that never leave the machine; these may use plain HTTP (as ggcr does). */
export function isLoopbackHost(host: string): boolean {
  const name = host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.replace(/:\d+$/, '');
  return name === 'localhost' || name === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(name);
}

function hostEntry(config: RegistryConfig, host: string): RegistryHostConfig {
  let entry = config.hosts.get(host);
  if (!entry) {
    entry = { mirrors: [], insecure: false };
    config.hosts.set(host, entry);
  }
  return entry;
}

/** Checks a mirror URL; returns it without a trailing slash. */
function checkMirrorUrl(text: string, where: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new StrataError(
      'USAGE',
      `${where}: mirror "${text}" is not a URL`,
      'write the mirror as http://HOST:PORT or https://HOST',
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new StrataError(
      'USAGE',
      `${where}: mirror "${text}" must use http or https`,
      'write http://… or https://…',
    );
  }
  if (url.search || url.hash || url.username || url.password) {
    throw new StrataError(
      'USAGE',
      `${where}: mirror "${text}" may not carry a query, fragment or credentials`,
      'put credentials in ~/.docker/config.json (docker login) instead',
    );
  }
  return `${url.protocol}//${url.host}${url.pathname.replace(/\/+$/, '')}`;
}

/** Parses STRATA_REGISTRY_MIRRORS into `config`. */
export function addMirrorsFromEnv(config: RegistryConfig, value: string): void {
  for (const item of value.split(',').map((s) => s.trim())) {
    if (!item) continue;
    const eq = item.indexOf('=');
    if (eq <= 0) {
      throw new StrataError(
        'USAGE',
        `STRATA_REGISTRY_MIRRORS: "${item}" is not HOST=URL`,
        'e.g. STRATA_REGISTRY_MIRRORS=docker.io=http://127.0.0.1:5000',
      );
    }
    const host = normaliseRegistryHost(item.slice(0, eq));
    hostEntry(config, host).mirrors.push(checkMirrorUrl(item.slice(eq + 1), 'STRATA_REGISTRY_MIRRORS'));
  }
}

/** "index.docker.io" and "registry-1.docker.io" are docker.io, as in image references. */
export function normaliseRegistryHost(host: string): string {
  const h = host
    .trim()
    .replace(/^https?:\/\//, '')
    .replace(/\/.*$/, '');
  return h === 'index.docker.io' || h === 'registry-1.docker.io' ? 'docker.io' : h;
}

/** Parses the config file's text; errors name the file and line. */
export function parseConfigFile(config: RegistryConfig, text: string, file: string): void {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines });
  const at = (node: Node | null | undefined) => {
    const offset = node?.range?.[0] ?? 0;
    const { line, col } = lines.linePos(offset);
    return `${file}:${line}:${col}`;
  };
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const { line, col } = lines.linePos(e.pos[0]);
    throw new StrataError('USAGE', `${file}:${line}:${col}: ${e.message}`, 'fix the YAML syntax');
  }
  const root = doc.contents;
  if (root === null || (isScalar(root) && root.value === null)) return;
  if (!isMap(root))
    throw new StrataError('USAGE', `${at(root)}: expected a mapping`, 'see "registries:" in the README');
  for (const pair of root.items) {
    const key = isScalar(pair.key) ? String(pair.key.value) : '';
    if (key !== 'registries') continue; // other sections belong to other parts of Strata
    const registries = pair.value as Node | null;
    if (registries === null || (isScalar(registries) && registries.value === null)) continue;
    if (!isMap(registries)) {
      throw new StrataError(
        'USAGE',
        `${at(registries)}: "registries" must map hosts to settings`,
        'e.g. registries: {docker.io: {mirrors: [http://127.0.0.1:5000]}}',
      );
    }
    for (const reg of registries.items) {
      const host = normaliseRegistryHost(isScalar(reg.key) ? String(reg.key.value) : '');
      const settings = reg.value as Node | null;
      if (!host || !isMap(settings)) {
        throw new StrataError(
          'USAGE',
          `${at((reg.key as Node) ?? settings)}: each registry needs settings (mirrors, insecure)`,
          'e.g. docker.io: {mirrors: [http://127.0.0.1:5000]}',
        );
      }
      const entry = hostEntry(config, host);
      for (const field of settings.items) {
        const name = isScalar(field.key) ? String(field.key.value) : '';
        const value = field.value as Node | null;
        if (name === 'mirrors') {
          if (!isSeq(value))
            throw new StrataError(
              'USAGE',
              `${at(value)}: "mirrors" must be a list of URLs`,
              'e.g. mirrors: [http://127.0.0.1:5000]',
            );
          for (const m of value.items) {
            const where = at(m as Node);
            if (!isScalar(m) || typeof m.value !== 'string')
              throw new StrataError(
                'USAGE',
                `${where}: a mirror must be a URL string`,
                'e.g. http://127.0.0.1:5000',
              );
            entry.mirrors.push(checkMirrorUrl(m.value, where));
          }
        } else if (name === 'insecure') {
          if (!isScalar(value) || typeof value.value !== 'boolean')
            throw new StrataError(
              'USAGE',
              `${at(value)}: "insecure" must be true or false`,
              'insecure: true allows plain HTTP to this registry',
            );
          entry.insecure = value.value;
        } else {
          throw new StrataError(
            'USAGE',
            `${at(field.key as Node)}: unknown registry setting "${name}"`,
            'known settings: mirrors, insecure',
          );
        }
      }
    }
  }
}

/** Reads the environment and the config file (if present). */
export function loadRegistryConfig(env: NodeJS.ProcessEnv = process.env): RegistryConfig {
  const config: RegistryConfig = { hosts: new Map() };
  if (env.STRATA_REGISTRY_MIRRORS) addMirrorsFromEnv(config, env.STRATA_REGISTRY_MIRRORS);
  const file = configFilePath(env);
  let text: string | undefined;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new StrataError(
        'USAGE',
        `cannot read ${file}: ${(e as Error).message}`,
        'check its permissions',
        { cause: e },
      );
    }
  }
  if (text !== undefined) {
    config.file = file;
    parseConfigFile(config, text, file);
  }
  return config;
}

function isInsecure(config: RegistryConfig, host: string): boolean {
  return config.hosts.get(host)?.insecure === true;
}

/** The registry itself: Docker Hub's API host for docker.io; http for loopback and insecure hosts. */
export function originEndpoint(config: RegistryConfig, registry: string): Endpoint {
  if (registry === 'docker.io')
    return { base: DOCKER_HUB_API, host: 'registry-1.docker.io', registry, mirror: false };
  const scheme = isLoopbackHost(registry) || isInsecure(config, registry) ? 'http' : 'https';
  return { base: `${scheme}://${registry}`, host: registry, registry, mirror: false };
}

/** Where to pull from, in order: the mirrors, then the registry itself. */
export function pullEndpoints(config: RegistryConfig, registry: string): Endpoint[] {
  const mirrors = (config.hosts.get(registry)?.mirrors ?? []).map((base): Endpoint => {
    const host = new URL(base).host;
    return { base, host, registry, mirror: true };
  });
  return [...mirrors, originEndpoint(config, registry)];
}

/** Plain HTTP is allowed to loopback hosts, hosts marked insecure, and mirrors written as http://. */
export function allowsPlainHttp(config: RegistryConfig, host: string): boolean {
  if (isLoopbackHost(host) || isInsecure(config, host)) return true;
  let normal: string;
  try {
    normal = new URL(`http://${host}`).host; // "mirror.lab:80" and "mirror.lab" are one host
  } catch {
    return false;
  }
  for (const entry of config.hosts.values()) {
    if (entry.mirrors.some((m) => m.startsWith('http://') && new URL(m).host === normal)) return true;
  }
  return false;
}
