// Runs one mocha suite inside the extension host of a real code-server: the workbench is opened
// in Chromium with extensionDevelopmentPath and extensionTestsPath; VS Code calls
// codeAutomationExit(code) when mocha is done, and the suite's index writes its result file.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as util from 'node:util';
import type { HostResult } from '../host/index';
import { launchBrowser, workbenchUrl } from './browser';
import { startCodeServer } from './codeServer';
import { makeWorkspace } from './workspace';

export interface HostSuiteOptions {
  suite: 'trusted' | 'untrusted';
  codeServer: string;
  extensionPath: string;
  /** The bundled tests: DIR/index.js and DIR/<suite>/*.test.js. */
  bundleDir: string;
  scratch: string;
  artifacts: string;
  env: Record<string, string>;
  timeoutMs: number;
}

export async function runHostSuite(o: HostSuiteOptions): Promise<HostResult> {
  const workspace = makeWorkspace(path.join(o.scratch, 'workspace'));
  const home = path.join(o.scratch, 'strata-home');
  fs.mkdirSync(home, { recursive: true });
  const resultFile = path.join(o.scratch, 'result.json');
  const server = await startCodeServer({
    binary: o.codeServer,
    dir: path.join(o.scratch, 'code-server'),
    workspace,
    trust: o.suite === 'untrusted',
    env: { ...o.env, STRATA_HOME: home, E2E_RESULT_FILE: resultFile, STRATA_E2E_SUITE: o.suite },
  });
  const browser = await launchBrowser();
  const consoleLog = fs.createWriteStream(path.join(o.artifacts, `host-${o.suite}.log`));
  const t0 = Date.now();
  try {
    const page = browser.context.pages()[0] ?? (await browser.context.newPage());
    let finish: (code: number | string) => void = () => undefined;
    const exited = new Promise<number | string>((resolve) => (finish = resolve));
    // The workbench's console (mocha's spec output among it) goes to an artifact; shown live with
    // STRATA_E2E_VERBOSE=1. The driver prints the per-test results from the result file.
    await page.exposeFunction('codeAutomationLog', (type: string, args: unknown[]) => {
      const line = util.format(...args);
      consoleLog.write(`[${type}] ${line}\n`);
      if (process.env.STRATA_E2E_VERBOSE) (type === 'error' ? console.error : console.log)(`    ${line}`);
    });
    await page.exposeFunction('codeAutomationExit', (code: number) => finish(code));
    await page.goto(workbenchUrl(server.url, workspace, o.extensionPath, path.join(o.bundleDir, 'index')));
    const timer = setTimeout(() => finish('timeout'), o.timeoutMs);
    const code = await exited;
    clearTimeout(timer);
    await page.screenshot({ path: path.join(o.artifacts, `host-${o.suite}.png`) }).catch(() => undefined);
    console.log(
      `  (${o.suite} suite: codeAutomationExit(${code}) after ${((Date.now() - t0) / 1000).toFixed(1)} s)`,
    );
    if (!fs.existsSync(resultFile)) {
      const log = fs.readFileSync(server.log, 'utf8').slice(-4000);
      return {
        passed: 0,
        failed: 1,
        skipped: 0,
        tests: [
          {
            title: `${o.suite} suite`,
            state: 'failed',
            error: `the tests did not run (exit ${code}); code-server log:\n${log}`,
          },
        ],
      };
    }
    return JSON.parse(fs.readFileSync(resultFile, 'utf8')) as HostResult;
  } finally {
    consoleLog.end();
    await browser.close();
    await server.stop();
    fs.copyFileSync(server.log, path.join(o.artifacts, `code-server-${o.suite}.log`));
  }
}
