// Debian's Chromium driven by playwright-core, with the flags that work on this machine.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';

export const CHROMIUM = process.env.STRATA_CHROMIUM ?? '/usr/bin/chromium';

export interface Browser {
  context: BrowserContext;
  close(): Promise<void>;
}

export async function launchBrowser(): Promise<Browser> {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1400, height: 900 },
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  return {
    context,
    async close() {
      await context.close().catch(() => undefined);
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** The workbench URL that opens `folder` with the extension under development (and its tests). */
export function workbenchUrl(
  base: string,
  folder: string,
  extensionPath: string | string[] | undefined,
  testsPath?: string,
): string {
  const host = new URL(base).host; // the remote authority is the Host header in code-server
  const remote = (p: string) => `vscode-remote://${host}${p}`;
  const payload: string[][] = [['skipWelcome', 'true']];
  for (const p of typeof extensionPath === 'string' ? [extensionPath] : (extensionPath ?? []))
    payload.push(['extensionDevelopmentPath', remote(p)]);
  if (testsPath) payload.push(['extensionTestsPath', remote(testsPath)]);
  return `${base}/?folder=${encodeURIComponent(folder)}&payload=${encodeURIComponent(JSON.stringify(payload))}`;
}
