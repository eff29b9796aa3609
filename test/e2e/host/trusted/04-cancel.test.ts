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
    // Wait until the sleeping step really runs: a `sleep 600` of this store exists.
    await waitFor(
      'the slow step to be running',
      () => processesOfStore(home, (c) => c.includes('sleep 600')).length > 0,
      180000,
    );
    assert.equal(api.services.builds.running, 1);
    const cancelled = await vscode.commands.executeCommand<number>('strata.cancelBuild');
    assert.equal(cancelled, 1, 'one build was asked to stop');
    const outcome = await building;
    assert.equal(outcome.status, 'cancelled', `outcome: ${JSON.stringify(outcome)}`);
    // Everything the build started (strata-box, the step's shell, sleep) is gone.
    const left = await waitFor(
      'no process of the cancelled build',
      () => {
        const p = processesOfStore(home, (c) => c.includes('strata-box') || c.includes('sleep 600'));
        return p.length === 0 ? 'none' : undefined;
      },
      30000,
    ).catch(() => processesOfStore(home, (c) => c.includes('strata-box') || c.includes('sleep 600')));
    assert.equal(left, 'none', `left running: ${JSON.stringify(left)}`);
    assert.notEqual(api.ctx.store.get(spec).state, 'built');
  });
});
