// A real registry (Debian's docker-registry, the CNCF distribution registry 2.8) on a free loopback
// port, and real base images seeded into it by umoci and skopeo: tools other than ours.
import { spawn, execFile, ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './net';
import { makeTempDir, removeTree } from './tmp';
import { repoRoot } from './paths';

const run = promisify(execFile);

export interface RegistryOptions {
  /** Extra YAML appended to the config (e.g. an `auth:` section for basic or token auth). */
  extraConfig?: string;
}

export interface Registry {
  /** host:port, e.g. 127.0.0.1:41234 */
  host: string;
  /** http://host:port */
  url: string;
  dir: string;
  stop(): Promise<void>;
}

export async function startRegistry(options: RegistryOptions = {}): Promise<Registry> {
  const dir = makeTempDir('registry');
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  const config =
    `version: 0.1\n` +
    `log: {level: warn}\n` +
    `storage: {filesystem: {rootdirectory: ${dir}/storage}, delete: {enabled: true}}\n` +
    `http: {addr: "${host}"}\n` +
    (options.extraConfig ?? '');
  fs.writeFileSync(path.join(dir, 'registry.yml'), config);
  const log = fs.openSync(path.join(dir, 'registry.log'), 'w');
  const child: ChildProcess = spawn('docker-registry', ['serve', path.join(dir, 'registry.yml')], {
    stdio: ['ignore', log, log],
    detached: true,
  });
  fs.closeSync(log);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const started = Date.now();
  for (;;) {
    try {
      const res = await fetch(`http://${host}/v2/`);
      // 200 when open, 401 when auth is configured: either way it answers.
      if (res.status === 200 || res.status === 401) break;
    } catch {
      /* not up yet */
    }
    if (child.exitCode !== null || Date.now() - started > 15000) {
      const text = fs.readFileSync(path.join(dir, 'registry.log'), 'utf8');
      child.kill('SIGKILL');
      throw new Error(`docker-registry did not answer on ${host}:\n${text}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    host,
    url: `http://${host}`,
    dir,
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
        if (child.exitCode === null) child.kill('SIGKILL');
      }
      removeTree(dir);
    },
  };
}

export interface SeedOptions {
  /** Also build and push library/debian:bookworm (about a minute the first time; cached). */
  debian?: boolean;
}

/** Where the Debian rootfs tarball is cached between runs (outside the clone). */
export function baseImageCache(): string {
  return process.env.STRATA_TEST_CACHE ?? path.join(os.homedir(), '.cache', 'strata-test');
}

/**
 * Pushes library/busybox:latest (and library/debian:bookworm) to the registry at `host`.
 * Returns the manifest digest of each pushed ref, keyed by repository:tag.
 */
export async function seedBaseImages(
  host: string,
  options: SeedOptions = {},
): Promise<Record<string, string>> {
  const work = baseImageCache();
  fs.mkdirSync(work, { recursive: true });
  const env = { ...process.env, ...(options.debian ? {} : { SKIP_DEBIAN: '1' }) };
  const { stdout } = await run(
    'bash',
    [path.join(repoRoot, 'test', 'support', 'base-images.sh'), work, host],
    {
      env,
      maxBuffer: 16 << 20,
    },
  );
  const digests: Record<string, string> = {};
  for (const line of stdout.trim().split('\n')) {
    const [ref, digest] = line.split(' ');
    if (ref && digest) digests[ref.slice(host.length + 1)] = digest;
  }
  return digests;
}

/**
 * The registry shared by a whole `npm test` run (started and seeded by test/run-all.ts and passed
 * as STRATA_TEST_REGISTRY); a suite run on its own starts and seeds one itself.
 */
let shared: Promise<Registry> | undefined;
export function sharedRegistry(): Promise<Registry> {
  const given = process.env.STRATA_TEST_REGISTRY;
  if (given) {
    return Promise.resolve({ host: given, url: `http://${given}`, dir: '', stop: async () => {} });
  }
  shared ??= (async () => {
    const reg = await startRegistry();
    await seedBaseImages(reg.host, { debian: process.env.STRATA_TEST_DEBIAN !== '0' });
    process.env.STRATA_TEST_REGISTRY = reg.host;
    after(() => reg.stop());
    return reg;
  })();
  return shared;
}

/** The environment that points Strata at a local registry as the mirror of docker.io. */
export function mirrorEnv(host: string): Record<string, string> {
  return { STRATA_REGISTRY_MIRRORS: `docker.io=http://${host}` };
}
