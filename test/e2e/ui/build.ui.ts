// UI flows in the real workbench (Playwright over Chromium): the command palette runs Build, the
// progress and result notifications appear, the Environments tree and the status bar show the
// environment built and locked. Screenshots are kept in .test-artifacts/e2e/.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Page } from 'playwright-core';
import { makeTempDir, removeTree, repoRoot } from '../../support';
import { launchBrowser, workbenchUrl, type Browser } from '../support/browser';
import { startCodeServer, type CodeServer } from '../support/codeServer';
import {
  runFromPalette,
  screenshot,
  statusBarItem,
  toast,
  treeRow,
  waitForWorkbench,
} from '../support/workbench';
import { makeWorkspace } from '../support/workspace';

const artifacts = path.join(repoRoot, '.test-artifacts', 'e2e');

describe('UI: build from the command palette', function () {
  let scratch = '';
  let server: CodeServer | undefined;
  let browser: Browser | undefined;
  let page: Page;
  let workspace = '';

  before(async () => {
    fs.mkdirSync(artifacts, { recursive: true });
    scratch = makeTempDir('e2e-ui');
    workspace = path.join(scratch, 'workspace');
    makeWorkspace(workspace);
    // Only the quickstart spec: Build needs no pick, the status bar shows it without an editor.
    for (const other of ['broken', 'failing', 'slow'])
      fs.rmSync(path.join(workspace, other), { recursive: true });
    const home = path.join(scratch, 'strata-home');
    fs.mkdirSync(home);
    const binary = process.env.STRATA_E2E_CODE_SERVER;
    assert.ok(binary, 'the driver passes the code-server binary');
    server = await startCodeServer({
      binary,
      dir: path.join(scratch, 'code-server'),
      workspace,
      trust: false,
      env: {
        STRATA_HOME: home,
        STRATA_REGISTRY_MIRRORS: process.env.STRATA_REGISTRY_MIRRORS ?? '',
      },
    });
    browser = await launchBrowser();
    page = browser.context.pages()[0] ?? (await browser.context.newPage());
    await page.goto(workbenchUrl(server.url, workspace, repoRoot));
    await waitForWorkbench(page);
  });

  after(async () => {
    if (page && this.ctx.currentTest?.state === 'failed')
      await screenshot(page, artifacts, 'ui-failure').catch(() => undefined);
    await browser?.close();
    await server?.stop();
    if (server) fs.copyFileSync(server.log, path.join(artifacts, 'code-server-ui.log'));
    if (scratch && !process.env.STRATA_TEST_KEEP) removeTree(scratch);
  });

  it('shows the environment as not built in the status bar once activated', async () => {
    await statusBarItem(page, 'quickstart: not built').waitFor({ timeout: 90000 });
    await screenshot(page, artifacts, 'ui-1-activated');
  });

  it('runs Build from the command palette and shows the progress notification', async () => {
    await runFromPalette(page, 'Strata: Build Environment');
    await toast(page, 'Strata: Building quickstart').waitFor({ timeout: 30000 });
    await screenshot(page, artifacts, 'ui-2-building');
  });

  it('shows the result notification: built and locked', async () => {
    const done = toast(page, /quickstart (built and locked|built)/);
    await done.waitFor({ timeout: 240000 });
    assert.match(await done.innerText(), /built and locked \(sha256:[0-9a-f]{12}/);
    await screenshot(page, artifacts, 'ui-3-built');
    assert.ok(fs.existsSync(path.join(workspace, 'quickstart', 'strata.lock')), 'strata.lock was written');
  });

  it('shows the environment in the Environments tree and the status bar', async () => {
    await runFromPalette(page, 'Strata: Focus on Environments View');
    const row = treeRow(page, 'Environments', 'quickstart');
    await row.waitFor({ timeout: 30000 });
    await treeRow(page, 'Environments', /built, locked/).waitFor({ timeout: 30000 });
    await row.locator('.monaco-tl-twistie').click(); // the label opens the spec; the twistie expands
    await treeRow(page, 'Environments', 'Layers').waitFor({ timeout: 30000 });
    await treeRow(page, 'Environments', 'hello').waitFor({ timeout: 30000 });
    await statusBarItem(page, 'quickstart: built, locked').waitFor({ timeout: 30000 });
    await screenshot(page, artifacts, 'ui-4-tree');
  });

  it('opens the walkthrough: write a spec, build, run, lock, share', async () => {
    await runFromPalette(page, 'Welcome: Open Walkthrough...');
    const input = page.locator('.quick-input-widget input.input');
    await input.fill('Reproducible environments with Strata');
    await page
      .locator('.quick-input-list .monaco-list-row', { hasText: 'Reproducible environments with Strata' })
      .first()
      .click();
    const steps = page.locator('.gettingStartedContainer');
    for (const title of ['Write a spec', 'Build it', 'Run a workload', 'Lock it', 'Share and verify'])
      await steps.getByText(title, { exact: true }).first().waitFor({ timeout: 30000 });
    await screenshot(page, artifacts, 'ui-5-walkthrough');
  });
});
