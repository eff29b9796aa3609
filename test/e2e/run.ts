// The e2e driver (called by test/run-all.ts; also `npx tsx test/e2e/run.ts`): the extension in a
// real VS Code. It bundles the in-host suites, starts code-server on a free loopback port, opens the
// workbench in Debian's Chromium through playwright-core, runs the mocha suites inside the
// extension host (trusted, then untrusted), then the UI-level Playwright flows (test/e2e/ui), and
// writes the summed counts as JSON {passed, failed, skipped} to $STRATA_TEST_STATS.
// Env: STRATA_TEST_REGISTRY=host:port of a seeded registry (else one is started), CI=true makes a
// missing code-server a failure, STRATA_E2E_ONLY=trusted,untrusted,ui picks parts,
// STRATA_E2E_GREP filters tests. Screenshots and logs go to .test-artifacts/e2e/.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as esbuild from 'esbuild';
import Mocha from 'mocha';
import {
  inCI,
  makeTempDir,
  removeTree,
  repoRoot,
  seedBaseImages,
  startRegistry,
  type Registry,
} from '../support';
import { findCodeServer, codeServerCandidates } from './support/codeServer';
import { runHostSuite } from './support/hostSuite';

interface Counts {
  passed: number;
  failed: number;
  skipped: number;
}

const artifacts = path.join(repoRoot, '.test-artifacts', 'e2e');
const bundleDir = path.join(repoRoot, 'out', 'test', 'e2e', 'host');

function writeStats(c: Counts): void {
  const file = process.env.STRATA_TEST_STATS;
  if (file) fs.writeFileSync(file, JSON.stringify(c));
  console.log(`e2e: ${c.passed} passed, ${c.failed} failed, ${c.skipped} skipped`);
}

/** Bundles the in-host suites (vscode and mocha stay external: the host and node_modules give them). */
async function bundleHostSuites(): Promise<void> {
  const hostDir = path.join(__dirname, 'host');
  const entries = [path.join(hostDir, 'index.ts')];
  for (const suite of ['trusted', 'untrusted'])
    for (const f of fs.readdirSync(path.join(hostDir, suite)))
      if (f.endsWith('.test.ts')) entries.push(path.join(hostDir, suite, f));
  fs.rmSync(bundleDir, { recursive: true, force: true });
  await esbuild.build({
    entryPoints: entries,
    outbase: hostDir,
    outdir: bundleDir,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    sourcemap: 'inline',
    external: ['vscode', 'mocha'],
    logLevel: 'warning',
  });
}

async function runUiFlows(env: Record<string, string>): Promise<Counts> {
  const mocha = new Mocha({ ui: 'bdd', timeout: 300000, color: false, reporter: 'spec' });
  if (process.env.STRATA_E2E_GREP) mocha.grep(process.env.STRATA_E2E_GREP);
  for (const f of fs
    .readdirSync(path.join(__dirname, 'ui'))
    .filter((f) => f.endsWith('.ui.ts'))
    .sort())
    mocha.addFile(path.join(__dirname, 'ui', f));
  Object.assign(process.env, env);
  await mocha.loadFilesAsync();
  return new Promise((resolve) => {
    const runner = mocha.run(() => {
      const s = runner.stats;
      resolve({ passed: s?.passes ?? 0, failed: s?.failures ?? 0, skipped: s?.pending ?? 0 });
    });
  });
}

async function main(): Promise<Counts> {
  const total: Counts = { passed: 0, failed: 0, skipped: 0 };
  const codeServer = findCodeServer();
  if (!codeServer) {
    const reason = `code-server ${codeServerCandidates().join(' or ')} is not installed: run .ci/setup-e2e`;
    if (inCI) {
      console.log(`!!! ${reason} (CI=true: the e2e suite may not skip)`);
      return { passed: 0, failed: 1, skipped: 0 };
    }
    console.log(`    skipped: ${reason}`);
    return { passed: 0, failed: 0, skipped: 1 };
  }
  for (const f of [
    'out/extension.js',
    'out/lsp.js',
    'out/server.js',
    'out/cli.js',
    'native/build/strata-box',
  ])
    if (!fs.existsSync(path.join(repoRoot, f))) {
      console.log(`!!! ${f} is missing: run "npm run build"`);
      return { passed: 0, failed: 1, skipped: 0 };
    }
  fs.rmSync(artifacts, { recursive: true, force: true }); // only this run's screenshots and logs
  fs.mkdirSync(artifacts, { recursive: true });
  await bundleHostSuites();

  let registry: Registry | undefined;
  let host = process.env.STRATA_TEST_REGISTRY;
  if (!host) {
    registry = await startRegistry();
    await seedBaseImages(registry.host, { debian: false });
    host = registry.host;
  }
  const env = {
    STRATA_TEST_REGISTRY: host,
    STRATA_REGISTRY_MIRRORS: `docker.io=http://${host}`,
    STRATA_E2E_CODE_SERVER: codeServer,
    ...(process.env.STRATA_E2E_GREP ? { STRATA_E2E_GREP: process.env.STRATA_E2E_GREP } : {}),
  };
  const only = process.env.STRATA_E2E_ONLY?.split(',') ?? ['trusted', 'untrusted', 'ui'];
  try {
    for (const suite of ['trusted', 'untrusted'] as const) {
      if (!only.includes(suite)) continue;
      console.log(`\n  --- extension-host suite: ${suite} workspace`);
      const scratch = makeTempDir(`e2e-${suite}`);
      try {
        const r = await runHostSuite({
          suite,
          codeServer,
          extensionPath: repoRoot,
          bundleDir,
          scratch,
          artifacts,
          env,
          timeoutMs: 15 * 60 * 1000,
        });
        for (const t of r.tests) {
          const mark = t.state === 'passed' ? '✔' : t.state === 'failed' ? '✘' : '-';
          console.log(`    ${mark} ${t.title}${t.ms ? ` (${t.ms} ms)` : ''}`);
          if (t.error) console.log(t.error.replace(/^/gm, '        '));
        }
        total.passed += r.passed;
        total.failed += r.failed;
        total.skipped += r.skipped;
      } finally {
        if (!process.env.STRATA_TEST_KEEP) removeTree(scratch);
        else console.log(`    kept ${scratch}`);
      }
    }
    if (only.includes('ui')) {
      console.log('\n  --- UI flows (Playwright)');
      const c = await runUiFlows(env);
      total.passed += c.passed;
      total.failed += c.failed;
      total.skipped += c.skipped;
    }
  } finally {
    await registry?.stop();
  }
  return total;
}

main().then(
  (c) => {
    writeStats(c);
    process.exit(c.failed ? 1 : 0);
  },
  (e: unknown) => {
    console.error(`e2e driver: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    writeStats({ passed: 0, failed: 1, skipped: 0 });
    process.exit(1);
  },
);
