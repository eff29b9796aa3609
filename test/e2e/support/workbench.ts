// UI-level helpers over a code-server workbench page: the command palette, notifications, views.
import * as path from 'node:path';
import type { Locator, Page } from 'playwright-core';

export async function waitForWorkbench(page: Page): Promise<void> {
  await page.waitForSelector('.monaco-workbench .part.statusbar', { timeout: 120000 });
}

/** Runs a command by its palette title (e.g. "Strata: Build Environment"). */
export async function runFromPalette(page: Page, title: string): Promise<void> {
  await page
    .locator('.monaco-workbench')
    .click({ position: { x: 700, y: 5 } })
    .catch(() => undefined);
  await page.keyboard.press('F1');
  const input = page.locator('.quick-input-widget input.input');
  await input.waitFor({ state: 'visible', timeout: 15000 });
  await input.fill(`>${title}`);
  // The extension's commands appear once it is registered; the row's text is the title.
  await page
    .locator('.quick-input-list .monaco-list-row', { hasText: title })
    .first()
    .waitFor({ timeout: 60000 });
  await page.keyboard.press('Enter');
}

export function toast(page: Page, text: string | RegExp): Locator {
  return page.locator('.notifications-toasts .notification-toast', { hasText: text }).first();
}

export function statusBarItem(page: Page, text: string | RegExp): Locator {
  return page.locator('.part.statusbar .statusbar-item', { hasText: text }).first();
}

export function treeRow(page: Page, viewTitle: string, text: string | RegExp): Locator {
  return page
    .locator('.pane', { has: page.locator('.pane-header', { hasText: viewTitle }) })
    .locator('.monaco-list-row', { hasText: text })
    .first();
}

export async function screenshot(page: Page, dir: string, name: string): Promise<void> {
  await page.screenshot({ path: path.join(dir, `${name}.png`) });
}
