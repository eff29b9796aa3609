// Activation and first-run checks, in a real VS Code.
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { diagnoseHost, type HostFacts } from '../../../../extension/src/hostCheck';
import { EXTENSION_ID, openSpec, strataApi, waitFor } from '../helpers';

describe('activation', () => {
  it('activates on a workspace with a spec and starts the language server', async () => {
    await openSpec('quickstart');
    const ext = vscode.extensions.getExtension(EXTENSION_ID);
    assert.ok(ext, 'the extension is installed');
    await waitFor('the extension to activate', () => ext.isActive);
    const api = await strataApi();
    assert.equal(api.ctx.isRunning, true, 'the language client is running');
  });

  it('lists every spec of the workspace in the Environments view', async () => {
    const api = await strataApi();
    const labels = await waitFor('four specs in the tree', () => {
      const roots = api.environments.getChildren();
      return roots.length === 4 && roots.map((n) => String(api.environments.getTreeItem(n).label)).sort();
    });
    assert.deepEqual(labels, ['broken', 'failing', 'quickstart', 'slow']);
  });
});

describe('first-run checks', () => {
  it('finds that this machine can build: the bundled strata-box runs, user namespaces and overlay work', async () => {
    const result = await vscode.commands.executeCommand('strata.checkSystem');
    assert.equal(result, 'ok');
  });

  const fine: HostFacts = {
    helperPath: '/x/strata-box',
    kernelRelease: '6.1.0-18-amd64',
    isRoot: false,
    maxUserNamespaces: 15000,
    overlayInKernel: true,
  };

  it('says which setting fixes a missing helper', () => {
    const p = diagnoseHost({ ...fine, helperError: 'ENOENT' });
    assert.ok(p);
    assert.match(p.what, /strata-box was not found at \/x\/strata-box/);
    assert.equal(p.setting, 'strata.helperPath');
  });

  it('names the kernel version that allows overlay in a user namespace', () => {
    const p = diagnoseHost({ ...fine, kernelRelease: '5.4.0-150-generic' });
    assert.ok(p);
    assert.match(p.what, /5\.4\.0-150-generic/);
    assert.match(p.what, /5\.11/);
  });

  it('names the sysctl that disables user namespaces', () => {
    assert.match(
      diagnoseHost({ ...fine, unprivilegedUsernsClone: 0 })?.fix ?? '',
      /kernel\.unprivileged_userns_clone=1/,
    );
    assert.match(diagnoseHost({ ...fine, maxUserNamespaces: 0 })?.fix ?? '', /user\.max_user_namespaces/);
    assert.match(diagnoseHost({ ...fine, apparmorRestrictsUserns: 1 })?.what ?? '', /AppArmor/);
  });

  it('accepts a 5.11 kernel and root on an older one', () => {
    assert.equal(diagnoseHost({ ...fine, kernelRelease: '5.11.0' }), undefined);
    assert.equal(diagnoseHost({ ...fine, kernelRelease: '4.19.0', isRoot: true }), undefined);
  });
});
