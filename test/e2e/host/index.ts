// Runs inside the VS Code extension host (extensionTestsPath): mocha over the bundled suite chosen
// by STRATA_E2E_SUITE (trusted | untrusted), results written as JSON to E2E_RESULT_FILE for the
// driver (test/e2e/run.ts). The same index works under @vscode/test-electron on a desktop.
import * as fs from 'node:fs';
import * as path from 'node:path';
import Mocha from 'mocha';

export interface HostResult {
  passed: number;
  failed: number;
  skipped: number;
  tests: { title: string; state: 'passed' | 'failed' | 'skipped'; error?: string; ms?: number }[];
}

export function run(): Promise<void> {
  const suite = process.env.STRATA_E2E_SUITE ?? 'trusted';
  const mocha = new Mocha({ ui: 'bdd', timeout: 240000, color: false, reporter: 'spec' });
  const grep = process.env.STRATA_E2E_GREP;
  if (grep) mocha.grep(grep);
  const dir = path.join(__dirname, suite);
  for (const f of fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.test.js'))
    .sort())
    mocha.addFile(path.join(dir, f));
  const result: HostResult = { passed: 0, failed: 0, skipped: 0, tests: [] };
  const write = () => {
    const file = process.env.E2E_RESULT_FILE;
    if (file) fs.writeFileSync(file, JSON.stringify(result, null, 2));
  };
  return new Promise((resolve, reject) => {
    const runner = mocha.run((failures) => {
      write();
      if (failures > 0) reject(new Error(`${failures} e2e test(s) failed`));
      else resolve();
    });
    runner.on('pass', (t) => {
      result.passed++;
      result.tests.push({ title: t.fullTitle(), state: 'passed', ms: t.duration });
    });
    runner.on('fail', (t, err: Error) => {
      result.failed++;
      result.tests.push({ title: t.fullTitle(), state: 'failed', error: err.stack ?? err.message });
    });
    runner.on('pending', (t) => {
      result.skipped++;
      result.tests.push({ title: t.fullTitle(), state: 'skipped' });
    });
  });
}
