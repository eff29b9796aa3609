// Several Strata processes on one store: four pulls and a gc at once; and pulls killed with
// SIGKILL at random moments, after which fsck finds no damage and the pull completes.
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { validateImage } from '../../../server/src/engine/image/validate';
import { fsck } from '../../../server/src/engine/store/fsck';
import { openStore } from '../../../server/src/engine/store/store';
import {
  cliBundle,
  mirrorEnv,
  requirePrerequisites,
  runCli,
  sharedRegistry,
  strataBox,
  useTempStrataHome,
} from '../../support';

const DEBIAN = 'docker.io/library/debian:bookworm';

/** Starts `strata pull debian:bookworm` and kills it with SIGKILL after `ms`; resolves when it is gone. */
function pullKilledAfter(ms: number, env: Record<string, string>): Promise<number | null> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cliBundle, 'pull', 'debian:bookworm'], {
      env: { ...process.env, ...env },
      stdio: 'ignore',
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), ms);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

describe('store under concurrent and interrupted processes', function () {
  this.timeout(600_000);
  let env0: Record<string, string>;
  before(async function () {
    requirePrerequisites(this, { files: [strataBox, cliBundle] });
    if (process.env.STRATA_TEST_DEBIAN === '0') {
      // The Debian image is what makes these pulls long enough to interrupt.
      requirePrerequisites(this, {
        files: ['/nonexistent: seeded debian:bookworm (STRATA_TEST_DEBIAN=0 was given)'],
      });
    }
    env0 = mirrorEnv((await sharedRegistry()).host);
  });
  const env = useTempStrataHome();

  it('four pulls and a gc at once all succeed and leave a valid store', async () => {
    const e = { ...env0, STRATA_HOME: env.home };
    const results = await Promise.all([
      runCli(['pull', 'debian:bookworm'], { env: e, timeoutMs: 300_000 }),
      runCli(['pull', 'debian:bookworm'], { env: e, timeoutMs: 300_000 }),
      runCli(['pull', 'busybox:latest'], { env: e, timeoutMs: 300_000 }),
      runCli(['pull', 'debian:bookworm'], { env: e, timeoutMs: 300_000 }),
      runCli(['gc'], { env: e, timeoutMs: 300_000 }),
    ]);
    for (const r of results) assert.equal(r.code, 0, r.stdout + r.stderr);
    const store = openStore(env.home);
    const report = await fsck(store);
    assert.deepEqual(report.problems, []);
    for (const name of [DEBIAN, 'docker.io/library/busybox:latest']) {
      const img = await store.resolveImage(name);
      assert.deepEqual(await validateImage(store, img.descriptor, { deep: true }), [], name);
      for (const l of img.layers) assert.ok(store.layerTree(l.diffId), `${name}: layer ${l.diffId} unpacked`);
    }
    // A gc now keeps both images whole.
    const after = await runCli(['gc', '--json'], { env: e });
    assert.equal(after.code, 0, after.stderr);
    assert.equal(JSON.parse(after.stdout.trim().split('\n').pop()!).removedBlobs, 0);
  });

  it('20 pulls killed with SIGKILL at random points: fsck finds no damage, then the pull completes', async () => {
    const e = { ...env0, STRATA_HOME: env.home };
    const store = openStore(env.home);
    let completedEarly = 0;
    for (let i = 0; i < 20; i++) {
      // Spread the kills over the whole pull: resolve, download, verify, unpack, tag.
      const code = await pullKilledAfter(50 + Math.floor(Math.random() * 2500), e);
      if (code === 0) completedEarly++;
      const report = await fsck(store);
      assert.deepEqual(
        report.problems,
        [],
        `after kill ${i + 1}: ${report.problems.map((p) => p.message).join('; ')}`,
      );
      if (code === 0) {
        // A pull that finished before its kill: start over so later kills land mid-pull again.
        await store.untagImage(DEBIAN);
        await runCli(['gc'], { env: e });
      }
    }
    const r = await runCli(['pull', 'debian:bookworm'], { env: e, timeoutMs: 300_000 });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const img = await store.resolveImage(DEBIAN);
    assert.deepEqual(await validateImage(store, img.descriptor, { deep: true }), []);
    for (const l of img.layers) assert.ok(store.layerTree(l.diffId));
    const final = await fsck(store);
    assert.deepEqual([final.problems, final.stale], [[], []]);
    console.log(`      (${20 - completedEarly} of 20 pulls killed mid-way)`);
  });
});
