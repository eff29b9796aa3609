// Cancelling from the progress notification (the user's path): the build stops, the notification
// says so, and no process of the build is left.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Page } from 'playwright-core';
import { makeTempDir, removeTree, repoRoot } from '../../support';
import { launchBrowser, workbenchUrl, type Browser } from '../support/browser';
import { startCodeServer, type CodeServer } from '../support/codeServer';
import { runFromPalette, screenshot, statusBarItem, toast, waitForWorkbench } from '../support/workbench';
import { makeWorkspace } from '../support/workspace';

const artifacts = path.join(repoRoot, '.test-artifacts', 'e2e');

/** Command lines of processes that contain `needle` (the slow step's unique sleep). */
function processesWith(needle: string): string[] {
  const found: string[] = [];
  for (const pid of fs.readdirSync('/proc').filter((e) => /^\d+$/.test(e))) {
    try {
      const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
      if (cmd.includes(needle)) found.push(`${pid}: ${cmd}`);
    } catch {
      /* gone */
    }
  }
  return found;
}

async function until(what: string, probe: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('UI: cancel a build from its notification', function () {
  let scratch = '';
  let server: CodeServer | undefined;
  let browser: Browser | undefined;
  let page: Page;

  before(async () => {
    scratch = makeTempDir('e2e-ui-cancel');
    const workspace = path.join(scratch, 'workspace');
    makeWorkspace(workspace);
    for (const other of ['broken', 'failing', 'quickstart'])
      fs.rmSync(path.join(workspace, other), { recursive: true });
    const home = path.join(scratch, 'strata-home');
    fs.mkdirSync(home);
    server = await startCodeServer({
      binary: process.env.STRATA_E2E_CODE_SERVER!,
      dir: path.join(scratch, 'code-server'),
      workspace,
      trust: false,
      env: { STRATA_HOME: home, STRATA_REGISTRY_MIRRORS: process.env.STRATA_REGISTRY_MIRRORS ?? '' },
    });
    browser = await launchBrowser();
    page = browser.context.pages()[0] ?? (await browser.context.newPage());
    await page.goto(workbenchUrl(server.url, workspace, repoRoot));
    await waitForWorkbench(page);
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
    if (scratch && !process.env.STRATA_TEST_KEEP) removeTree(scratch);
  });

  it('stops the build when Cancel is pressed and leaves no process', async () => {
    assert.deepEqual(processesWith('sleep 6017'), [], 'no slow step runs before the test');
    await statusBarItem(page, 'slow: not built').waitFor({ timeout: 90000 }); // the extension is active
    await runFromPalette(page, 'Strata: Build Environment');
    const progress = toast(page, 'Strata: Building slow');
    await progress.waitFor({ timeout: 30000 });
    await until('the slow step to run', () => processesWith('sleep 6017').length > 0, 180000);
    await screenshot(page, artifacts, 'ui-cancel-1-running');
    await progress.hover();
    await progress.locator('.monaco-button', { hasText: 'Cancel' }).click();
    await toast(page, 'Strata: slow cancelled.').waitFor({ timeout: 60000 });
    await screenshot(page, artifacts, 'ui-cancel-2-cancelled');
    await until('the build processes to exit', () => processesWith('sleep 6017').length === 0, 30000).catch(
      () => {
        assert.deepEqual(processesWith('sleep 6017'), [], 'left running after cancel');
      },
    );
  });
});
