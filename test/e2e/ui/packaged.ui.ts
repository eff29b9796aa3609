// The packaged extension: `npm run package` in a copy of the sources makes strata.vsix with the
// bundled client, server, CLI and the linux-x64 strata-box; `code-server --install-extension`
// installs it; the installed extension (not the development copy) builds quickstart from the
// command palette. Screenshots in .test-artifacts/e2e/.
import * as assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import type { Page } from 'playwright-core';
import { makeTempDir, removeTree, repoRoot } from '../../support';
import { launchBrowser, workbenchUrl, type Browser } from '../support/browser';
import { startCodeServer, type CodeServer } from '../support/codeServer';
import { runFromPalette, screenshot, statusBarItem, toast, waitForWorkbench } from '../support/workbench';
import { makeWorkspace } from '../support/workspace';

const run = promisify(execFile);
const artifacts = path.join(repoRoot, '.test-artifacts', 'e2e');

/** What `npm run package` reads: the sources and build files, not out/, native/build or results. */
const SOURCES = [
  'package.json',
  'esbuild.mjs',
  'tsconfig.json',
  'README.md',
  '.vscodeignore',
  'extension',
  'server',
  'native',
  'schemas',
  'resources',
  'bin',
];

describe('UI: the packaged extension', function () {
  let scratch = '';
  let vsix = '';
  let csDir = '';
  let server: CodeServer | undefined;
  let browser: Browser | undefined;
  let page: Page | undefined;

  before(() => {
    fs.mkdirSync(artifacts, { recursive: true });
    scratch = makeTempDir('e2e-vsix');
    csDir = path.join(scratch, 'code-server');
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
    if (server) fs.copyFileSync(server.log, path.join(artifacts, 'code-server-packaged.log'));
    if (scratch && !process.env.STRATA_TEST_KEEP) removeTree(scratch);
  });

  it('npm run package makes strata.vsix with the client, server, CLI and strata-box', async () => {
    const src = path.join(scratch, 'src');
    fs.mkdirSync(src);
    for (const f of SOURCES)
      fs.cpSync(path.join(repoRoot, f), path.join(src, f), {
        recursive: true,
        filter: (p) => !p.includes(`${path.sep}native${path.sep}build`),
      });
    fs.symlinkSync(path.join(repoRoot, 'node_modules'), path.join(src, 'node_modules'));
    await run('npm', ['run', 'package'], { cwd: src, maxBuffer: 64 << 20 });
    vsix = path.join(src, 'strata.vsix');
    assert.ok(fs.existsSync(vsix), 'strata.vsix was written');
    const { stdout } = await run('unzip', ['-Z1', vsix]);
    const entries = stdout.split('\n').filter(Boolean);
    for (const f of [
      'out/extension.js',
      'out/lsp.js',
      'out/server.js',
      'out/cli.js',
      'native/build/strata-box',
      'package.json',
    ])
      assert.ok(entries.includes(`extension/${f}`), `${f} in the .vsix (${entries.join(', ')})`);
    assert.ok(
      !entries.some((e) => e.includes('node_modules/') || e.endsWith('.map') || e.includes('/src/')),
      'no sources, maps or node_modules',
    );
    const size = fs.statSync(path.join(src, 'out', 'extension.js')).size;
    assert.ok(size < 500 * 1024, `the packaged client bundle is under 500 KB (${size} bytes)`);
  });

  it('code-server --install-extension installs it', async () => {
    assert.ok(vsix, 'the previous test made the .vsix');
    const binary = process.env.STRATA_E2E_CODE_SERVER!;
    const extensions = path.join(csDir, 'extensions');
    fs.mkdirSync(extensions, { recursive: true });
    const { stdout } = await run(binary, ['--extensions-dir', extensions, '--install-extension', vsix], {
      env: { ...process.env, HOME: path.join(scratch, 'home') },
    });
    assert.match(stdout, /was successfully installed/);
    const [installed] = fs.readdirSync(extensions).filter((d) => d.startsWith('strata-dev.strata-'));
    assert.ok(installed, `strata-dev.strata-* in ${extensions}`);
    const box = path.join(extensions, installed, 'native', 'build', 'strata-box');
    assert.ok(fs.statSync(box).mode & 0o100, 'strata-box keeps its execute bit');
  });

  it('the installed extension builds quickstart from the command palette', async () => {
    assert.ok(vsix, 'the first test made and the second installed the .vsix');
    const workspace = path.join(scratch, 'workspace');
    makeWorkspace(workspace);
    for (const other of ['broken', 'failing', 'slow'])
      fs.rmSync(path.join(workspace, other), { recursive: true });
    const home = path.join(scratch, 'strata-home');
    fs.mkdirSync(home);
    server = await startCodeServer({
      binary: process.env.STRATA_E2E_CODE_SERVER!,
      dir: csDir,
      workspace,
      trust: false,
      env: { STRATA_HOME: home, STRATA_REGISTRY_MIRRORS: process.env.STRATA_REGISTRY_MIRRORS ?? '' },
    });
    browser = await launchBrowser();
    page = browser.context.pages()[0] ?? (await browser.context.newPage());
    await page.goto(workbenchUrl(server.url, workspace, undefined));
    await waitForWorkbench(page);
    await statusBarItem(page, 'quickstart: not built').waitFor({ timeout: 90000 });
    await runFromPalette(page, 'Strata: Build Environment');
    const done = toast(page, /quickstart built/);
    await done.waitFor({ timeout: 240000 });
    await screenshot(page, artifacts, 'packaged-built');
    assert.match(await done.innerText(), /built and locked/);
    assert.ok(fs.existsSync(path.join(workspace, 'quickstart', 'strata.lock')));
  });
});
