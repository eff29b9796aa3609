// `npm test`: runs every suite and ends with one line "N passed, N failed, N skipped".
//   unit, integration    once, as the invoking user
//   native, build        as the invoking user and, when that is root, again as the unprivileged
//                        test user: rootless is the main case, not an extra
//   e2e                  the extension inside a real VS Code (test/e2e/run.ts)
// Usage: npm test [-- SUITE...] [-- --grep PATTERN]. STRATA_TEST_DEBIAN=0 skips seeding Debian.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  ensureTestUsers,
  isRoot,
  repoRoot,
  seedBaseImages,
  startRegistry,
  SINGLE_ID_USER,
  Registry,
  makeTempDir,
  removeTree,
} from './support';

interface Suite {
  name: string;
  dir: string;
  /** Also run as the unprivileged test user when the run is as root. */
  rootless: boolean;
  /** Needs the shared registry and seeded images. */
  registry: boolean;
}

const SUITES: Suite[] = [
  { name: 'unit', dir: 'test/unit', rootless: false, registry: false },
  { name: 'integration', dir: 'test/integration', rootless: false, registry: true },
  { name: 'native', dir: 'test/native', rootless: true, registry: true },
  { name: 'build', dir: 'test/build', rootless: true, registry: true },
  { name: 'e2e', dir: 'test/e2e', rootless: false, registry: true },
];

interface Counts {
  passed: number;
  failed: number;
  skipped: number;
}

function testFiles(dir: string): string[] {
  const abs = path.join(repoRoot, dir);
  if (!fs.existsSync(abs)) return [];
  return (fs.readdirSync(abs, { recursive: true }) as string[])
    .filter((f) => f.endsWith('.test.ts'))
    .map((f) => path.join(dir, f))
    .sort();
}

function runMocha(
  suite: Suite,
  files: string[],
  asUser: string | undefined,
  env: NodeJS.ProcessEnv,
  grep?: string,
): Counts {
  const statsDir = makeTempDir('stats');
  fs.chmodSync(statsDir, 0o777);
  const statsFile = path.join(statsDir, 'stats.json');
  const mocha = path.join(repoRoot, 'node_modules', 'mocha', 'bin', 'mocha.js');
  const args = [
    mocha,
    '--require',
    'tsx/cjs',
    '--reporter',
    path.join(repoRoot, 'test', 'support', 'reporter.cjs'),
    '--timeout',
    '120000',
    ...(grep ? ['--grep', grep] : []),
    ...files,
  ];
  const label = asUser
    ? `as ${asUser} (rootless)`
    : isRoot()
      ? 'as root'
      : `as ${process.env.USER ?? 'current user'}`;
  console.log(`\n=== ${suite.name} suite ${label}`);
  const childEnv: NodeJS.ProcessEnv = {
    ...env,
    STRATA_TEST_STATS: statsFile,
    STRATA_TEST_AS: asUser ? 'rootless' : isRoot() ? 'root' : 'user',
  };
  let result;
  if (asUser) {
    const userEnv = [
      `HOME=/home/${asUser}`,
      `USER=${asUser}`,
      `PATH=${process.env.PATH}`,
      'TMPDIR=/tmp',
      ...Object.entries(childEnv)
        .filter(([k]) => k.startsWith('STRATA_') || k === 'CI' || k === 'NO_COLOR')
        .map(([k, v]) => `${k}=${v}`),
    ];
    result = spawnSync('runuser', ['-u', asUser, '--', 'env', '-i', ...userEnv, process.execPath, ...args], {
      cwd: repoRoot,
      stdio: 'inherit',
    });
  } else {
    result = spawnSync(process.execPath, args, { cwd: repoRoot, stdio: 'inherit', env: childEnv });
  }
  let counts: Counts = { passed: 0, failed: 0, skipped: 0 };
  if (fs.existsSync(statsFile)) counts = JSON.parse(fs.readFileSync(statsFile, 'utf8')) as Counts;
  else {
    console.log(
      `!!! ${suite.name} suite ${label} ended without results (exit ${result.status}, signal ${result.signal})`,
    );
    counts.failed = 1;
  }
  removeTree(statsDir);
  return counts;
}

function runE2e(env: NodeJS.ProcessEnv): Counts {
  const driver = path.join(repoRoot, 'test', 'e2e', 'run.ts');
  if (!fs.existsSync(driver)) return { passed: 0, failed: 0, skipped: 0 };
  const statsDir = makeTempDir('stats');
  const statsFile = path.join(statsDir, 'stats.json');
  console.log('\n=== e2e suite (extension in a real VS Code)');
  const tsx = path.join(repoRoot, 'node_modules', 'tsx', 'dist', 'cli.mjs');
  const r = spawnSync(process.execPath, [tsx, driver], {
    cwd: repoRoot,
    stdio: 'inherit',
    env: { ...env, STRATA_TEST_STATS: statsFile },
  });
  let counts: Counts = { passed: 0, failed: 1, skipped: 0 };
  if (fs.existsSync(statsFile)) counts = JSON.parse(fs.readFileSync(statsFile, 'utf8')) as Counts;
  else console.log(`!!! e2e suite ended without results (exit ${r.status})`);
  removeTree(statsDir);
  return counts;
}

function checkReadableByTestUser(): void {
  const r = spawnSync('runuser', [
    '-u',
    SINGLE_ID_USER,
    '--',
    'test',
    '-r',
    path.join(repoRoot, 'package.json'),
  ]);
  if (r.status !== 0) {
    throw new Error(
      `the unprivileged test user '${SINGLE_ID_USER}' cannot read ${repoRoot}; clone the repository to a ` +
        `place every user can traverse (e.g. /tmp or /srv), not under /root`,
    );
  }
}

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  const grepAt = argv.indexOf('--grep');
  const grep = grepAt >= 0 ? argv[grepAt + 1] : undefined;
  const wanted = argv.filter((a, i) => !a.startsWith('--') && (grepAt < 0 || i !== grepAt + 1));
  const fromEnv = process.env.STRATA_TEST_SUITES?.split(',').filter(Boolean) ?? [];
  const names = wanted.length ? wanted : fromEnv;
  const suites = SUITES.filter((s) => names.length === 0 || names.includes(s.name));
  for (const n of names)
    if (!SUITES.some((s) => s.name === n))
      throw new Error(`unknown suite '${n}'; suites: ${SUITES.map((s) => s.name).join(', ')}`);

  const env: NodeJS.ProcessEnv = { ...process.env };
  let registry: Registry | undefined;
  const needsRegistry = suites.some(
    (s) =>
      s.registry &&
      (s.name === 'e2e' ? fs.existsSync(path.join(repoRoot, s.dir, 'run.ts')) : testFiles(s.dir).length > 0),
  );
  if (isRoot() && suites.some((s) => s.rootless)) {
    ensureTestUsers();
    checkReadableByTestUser();
  }
  if (needsRegistry && !env.STRATA_TEST_REGISTRY) {
    const seedDebian = env.STRATA_TEST_DEBIAN !== '0';
    console.log(
      `starting a local registry and seeding busybox${seedDebian ? ' and debian:bookworm' : ''}...`,
    );
    const t0 = Date.now();
    registry = await startRegistry();
    const digests = await seedBaseImages(registry.host, { debian: seedDebian });
    console.log(
      `registry ${registry.host} ready in ${((Date.now() - t0) / 1000).toFixed(1)} s: ${JSON.stringify(digests)}`,
    );
    env.STRATA_TEST_REGISTRY = registry.host;
    if (!seedDebian) env.STRATA_TEST_DEBIAN = '0';
  }

  const total: Counts = { passed: 0, failed: 0, skipped: 0 };
  const add = (c: Counts) => {
    total.passed += c.passed;
    total.failed += c.failed;
    total.skipped += c.skipped;
  };
  try {
    for (const suite of suites) {
      if (suite.name === 'e2e') {
        add(runE2e(env));
        continue;
      }
      const files = testFiles(suite.dir);
      if (files.length === 0) continue;
      add(runMocha(suite, files, undefined, env, grep));
      if (suite.rootless && isRoot()) add(runMocha(suite, files, SINGLE_ID_USER, env, grep));
    }
  } finally {
    await registry?.stop();
  }
  console.log(`\n${total.passed} passed, ${total.failed} failed, ${total.skipped} skipped`);
  return total.failed > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(`test runner: ${e instanceof Error ? e.message : String(e)}`);
    console.log('\n0 passed, 1 failed, 0 skipped');
    process.exit(1);
  },
);
