// The folder the e2e VS Code opens: a copy of examples/quickstart (so results and the lock are
// written outside the clone) and the e2e fixtures (a broken spec, a slow one to cancel).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { examplesDir } from '../../support/paths';

export const E2E_FIXTURES = path.join(__dirname, '..', 'fixtures');

export function makeWorkspace(dir: string): string {
  fs.mkdirSync(dir, { recursive: true });
  fs.cpSync(path.join(examplesDir, 'quickstart'), path.join(dir, 'quickstart'), {
    recursive: true,
    filter: (src) => !/(^|\/)(strata\.lock|results\/[^/]*\.txt)$/.test(src),
  });
  for (const name of fs.readdirSync(E2E_FIXTURES))
    fs.cpSync(path.join(E2E_FIXTURES, name), path.join(dir, name), { recursive: true });
  return dir;
}
