// `npm run bench`: runs every bench/*.bench.ts in turn; each prints its own table of ratios.
// Usage: npm run bench [-- NAME...]  (NAME matches a file name without .bench.ts)
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const dir = __dirname;
const wanted = process.argv.slice(2);
const files = fs
  .readdirSync(dir)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => wanted.length === 0 || wanted.includes(f.replace(/\.bench\.ts$/, '')))
  .sort();
const tsx = path.join(dir, '..', 'node_modules', 'tsx', 'dist', 'cli.mjs');
let failed = 0;
for (const f of files) {
  console.log(`\n### ${f}`);
  const r = spawnSync(process.execPath, [tsx, path.join(dir, f)], { stdio: 'inherit' });
  if (r.status !== 0) {
    failed++;
    console.log(`!!! ${f} failed (exit ${r.status})`);
  }
}
process.exit(failed ? 1 : 0);
