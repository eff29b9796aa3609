// File locks between processes: a holder killed with SIGKILL does not block the store forever, and
// a live holder in another process is waited for.
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { openStore } from '../../../server/src/engine/store/store';
import { repoRoot, useTempStrataHome } from '../../support';

/** Starts a child that takes the store lock (`kind`) and prints "held"; resolves with the child. */
function holder(home: string, kind: 'shared' | 'exclusive') {
  const code = `
    const { openStore } = require(${JSON.stringify(path.join(repoRoot, 'server/src/engine/store/store.ts'))});
    openStore(${JSON.stringify(home)}).${kind}().then(() => { console.log('held'); setInterval(() => {}, 1000); });
  `;
  const child = spawn(process.execPath, ['--require', 'tsx/cjs', '-e', code], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const held = new Promise<void>((resolve) =>
    child.stdout!.on('data', (d: Buffer) => d.toString().includes('held') && resolve()),
  );
  return { child, held };
}

describe('store locks between processes', () => {
  const env = useTempStrataHome();

  it('an exclusive holder killed with SIGKILL is detected as stale; the next process proceeds', async () => {
    const store = openStore(env.home);
    const h = holder(env.home, 'exclusive');
    await h.held;
    let waited = '';
    let got = false;
    const shared = store.shared({ onWait: (m) => (waited = m) }).then((release) => {
      got = true;
      return release;
    });
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(got, false, 'a live exclusive holder in another process is waited for');
    assert.match(waited, new RegExp(`held by pid ${h.child.pid}`));
    h.child.kill('SIGKILL');
    (await shared)();
    assert.equal(got, true);
  });

  it('a shared holder killed with SIGKILL no longer holds off gc', async () => {
    const store = openStore(env.home);
    const h = holder(env.home, 'shared');
    await h.held;
    let got = false;
    const excl = store.exclusive().then((release) => {
      got = true;
      return release;
    });
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(got, false);
    h.child.kill('SIGKILL');
    (await excl)();
  });

  it('times out with a clear error when asked to', async () => {
    const store = openStore(env.home);
    const h = holder(env.home, 'exclusive');
    await h.held;
    try {
      await assert.rejects(
        store.shared({ timeoutMs: 200 }),
        /timed out waiting for the store .* held by pid \d+/,
      );
    } finally {
      h.child.kill('SIGKILL');
    }
  });
});
