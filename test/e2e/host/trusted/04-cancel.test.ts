// Cancelling a build half-way stops it and leaves no process behind.
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { BuildOutcome } from '../../../../extension/src/commands/builds';
import { processesOfStore, specUri, strataApi, waitFor } from '../helpers';

describe('cancelling a build', () => {
  it('stops the running step and leaves no process', async () => {
    const api = await strataApi();
    const home = process.env.STRATA_HOME;
    assert.ok(home, 'the e2e driver gives the run its own STRATA_HOME');
    const spec = specUri('slow');
    const building = vscode.commands.executeCommand<BuildOutcome>('strata.buildEnvironment', spec);
    // Wait until the sleeping step really runs: a `sleep 6017` of this store exists.
    await waitFor(
      'the slow step to be running',
      () => processesOfStore(home, (c) => c.includes('sleep 6017')).length > 0,
      180000,
    );
    assert.equal(api.services.builds.running, 1);
    const cancelled = await vscode.commands.executeCommand<number>('strata.cancelBuild');
    assert.equal(cancelled, 1, 'one build was asked to stop');
    const outcome = await building;
    assert.equal(outcome.status, 'cancelled', `outcome: ${JSON.stringify(outcome)}`);
    // Everything the build started is gone: strata-box (found by its STRATA_HOME) and the step's
    // processes inside the container (their environment is the image's, so found by command line).
    const leftovers = () => [
      ...processesOfStore(home, (c) => c.includes('strata-box')),
      ...processesOfStore(undefined, (c) => c.includes('sleep 6017')),
    ];
    const left = await waitFor(
      'no process of the cancelled build',
      () => leftovers().length === 0,
      30000,
    ).catch(() => leftovers());
    assert.equal(left, true, `left running: ${JSON.stringify(left)}`);
    assert.notEqual(api.ctx.store.get(spec).state, 'built');
  });
});
