// A suite whose prerequisites are missing fails in CI (CI=true) and says what is missing; outside
// CI it is skipped with the reason printed (as bubblewrap's libtest.sh does).
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import type { Context } from 'mocha';

export const inCI = process.env.CI === 'true' || process.env.CI === '1';

export function hasCommand(name: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export function isRoot(): boolean {
  return process.getuid?.() === 0;
}

export interface Prerequisites {
  commands?: string[];
  files?: string[];
  root?: boolean;
}

/** What is missing, in words; empty when everything is there. */
export function missingPrerequisites(need: Prerequisites): string[] {
  const missing: string[] = [];
  for (const c of need.commands ?? [])
    if (!hasCommand(c)) missing.push(`command '${c}' (see .ci/apt-packages.txt)`);
  for (const f of need.files ?? []) if (!fs.existsSync(f)) missing.push(`file ${f} (run "npm run build")`);
  if (need.root && !isRoot()) missing.push('root privileges');
  return missing;
}

/** Call in a `before` hook: fails in CI, skips elsewhere, when something is missing. */
export function requirePrerequisites(ctx: Context, need: Prerequisites): void {
  const missing = missingPrerequisites(need);
  if (missing.length === 0) return;
  const reason = `missing prerequisites: ${missing.join(', ')}`;
  if (inCI) throw new Error(`${reason} (CI=true: a suite may not skip in CI)`);
  console.log(`    skipped: ${reason}`);
  ctx.skip();
}
