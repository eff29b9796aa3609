// Settings reach the processes the client starts: a new strata.storePath restarts the server with
// that $STRATA_HOME, and the next build lands there.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { BuildOutcome } from '../../../../extension/src/commands/builds';
import { processesOfStore, specUri, strataApi, waitFor } from '../helpers';

describe('settings', () => {
  it('strata.storePath restarts the server with that store, and builds go there', async () => {
    const api = await strataApi();
    const store = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-e2e-store-'));
    const config = vscode.workspace.getConfiguration('strata');
    try {
      await config.update('storePath', store, vscode.ConfigurationTarget.Workspace);
      await waitFor(
        'a language server with the new store',
        () => processesOfStore(store, (c) => c.includes('out/server.js')).length === 1,
      );
      await waitFor('the restarted client to run', () => api.ctx.isRunning);
      const outcome = await vscode.commands.executeCommand<BuildOutcome>(
        'strata.buildEnvironment',
        specUri('quickstart'),
      );
      assert.equal(outcome.status, 'ok', JSON.stringify(outcome));
      const index = JSON.parse(fs.readFileSync(path.join(store, 'oci', 'index.json'), 'utf8')) as {
        manifests: { digest: string }[];
      };
      assert.ok(
        outcome.status === 'ok' && index.manifests.some((m) => m.digest === outcome.result.imageDigest),
        'the image is in the configured store',
      );
    } finally {
      await config.update('storePath', undefined, vscode.ConfigurationTarget.Workspace);
      await waitFor(
        'the server back on the default store',
        () => processesOfStore(store, (c) => c.includes('out/server.js')).length === 0,
      );
      fs.rmSync(store, { recursive: true, force: true });
    }
  });
});
