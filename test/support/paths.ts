// Where the built artefacts are, for every suite.
import * as path from 'node:path';

export const repoRoot = path.resolve(__dirname, '..', '..');
export const strataBox = process.env.STRATA_BOX ?? path.join(repoRoot, 'native', 'build', 'strata-box');
export const cliBundle = path.join(repoRoot, 'out', 'cli.js');
export const serverBundle = path.join(repoRoot, 'out', 'server.js');
export const examplesDir = path.join(repoRoot, 'examples');
export const fixturesDir = path.join(repoRoot, 'test', 'fixtures');
