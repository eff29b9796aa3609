// Where the strata-box helper is: $STRATA_BOX, else native/build/strata-box next to the bundle
// (out/*.js) or to the sources (server/src/engine/sandbox/*.ts when run through tsx).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { StrataError } from '../errors';

export function strataBoxPath(): string {
  const given = process.env.STRATA_BOX;
  const candidates = given
    ? [given]
    : [
        path.resolve(__dirname, '..', 'native', 'build', 'strata-box'),
        path.resolve(__dirname, '..', '..', '..', '..', 'native', 'build', 'strata-box'),
      ];
  for (const c of candidates) {
    try {
      fs.accessSync(c, fs.constants.X_OK);
      return c;
    } catch {
      /* try the next place */
    }
  }
  throw new StrataError(
    'SANDBOX',
    `the strata-box helper is missing (looked at ${candidates.join(', ')})`,
    given ? 'STRATA_BOX must name the built helper' : 'build it with "npm run build" (make -C native)',
  );
}
