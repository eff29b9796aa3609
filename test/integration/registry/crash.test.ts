// Crash safety and concurrency of pulls (issue 4 §5):
// - 20 pulls into one store, each killed with SIGKILL at a random point; afterwards the store is
//   valid (an independent oracle, and `strata fsck` when it exists) and a last pull completes;
// - 4 pulls at once (two of the same image) while `strata gc` runs: all succeed, the store stays valid.
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  cliBundle,
  mirrorEnv,
  removeTree,
  requirePrerequisites,
  runCli,
  sharedRegistry,
  useTempStrataHome,
  type Registry,
} from '../../support';
import { openStore } from '../../../server/src/engine/store/store';
import { useIsolatedRegistryEnv } from './helpers/env';
import { checkStore } from './helpers/store-check';

/** A small deterministic PRNG, so a failing run can be repeated (the seed is printed). */
function prng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

function hasCommand(name: string): boolean {
  return fs.existsSync(cliBundle) && fs.readFileSync(cliBundle, 'utf8').includes(`name: "${name}"`);
}

describe('registry: crash safety and concurrency', function () {
  let reg: Registry;
  const home = useTempStrataHome();
  const iso = useIsolatedRegistryEnv();
  // Debian (one 50 MB layer) gives a kill many places to land; busybox when Debian is not seeded.
  const image = process.env.STRATA_TEST_DEBIAN === '0' ? 'busybox:latest' : 'debian:bookworm';
  before(async function () {
    requirePrerequisites(this, { commands: ['docker-registry', 'skopeo'], files: [cliBundle] });
    reg = await sharedRegistry();
  });
  const env = () => ({ ...iso.vars, ...mirrorEnv(reg.host), STRATA_HOME: home.home });

  it(`survives kill -9 at random points during 20 pulls of ${image}`, async function () {
    this.timeout(600_000); // 20 pulls of Debian; about 3 min on a loaded 2-core machine
    // How long an uninterrupted pull takes here, into a scratch store, so kills land throughout.
    const t0 = Date.now();
    const scratch = await runCli(['pull', image], { env: { ...env(), STRATA_HOME: `${home.home}-scratch` } });
    assert.equal(scratch.code, 0, scratch.stderr);
    // The machine is shared: when the scratch pull met a busy moment, later pulls are faster and
    // would finish before their kill. Every pull that completes lowers the estimate.
    let full = Date.now() - t0;
    fs.rmSync(`${home.home}-scratch`, { recursive: true, force: true });
    const seed = Number(process.env.STRATA_TEST_SEED ?? Date.now() % 100000);
    const random = prng(seed);
    const killedAt: number[] = [];
    let completed = 0;
    for (let i = 0; i < 20; i++) {
      const delay = Math.round(30 + random() * full * 1.1);
      const started = Date.now();
      const child = spawn(process.execPath, [cliBundle, 'pull', image], {
        env: { ...process.env, ...env() },
        stdio: 'ignore',
      });
      const timer = setTimeout(() => child.kill('SIGKILL'), delay);
      const [code, signal] = await new Promise<[number | null, string | null]>((r) =>
        child.on('exit', (c, s) => r([c, s])),
      );
      clearTimeout(timer);
      if (signal === 'SIGKILL') killedAt.push(delay);
      else {
        assert.equal(code, 0, `pull ${i + 1} (not killed) failed; seed ${seed}`);
        completed++;
        full = Math.min(full, Date.now() - started);
        // Start over with an empty store, so later kills again hit a pull with work left.
        removeTree(home.home);
      }
      const problems = await checkStore(home.home);
      assert.deepEqual(problems, [], `after pull ${i + 1} (killed at ${delay} ms; seed ${seed})`);
    }
    console.log(
      `      ${killedAt.length} pulls killed (at ${killedAt.join(', ')} ms), ${completed} completed; full pull ${full} ms; seed ${seed}`,
    );
    assert.ok(killedAt.length >= 14, `most pulls should have been killed (seed ${seed})`);
    if (hasCommand('fsck')) {
      // Nothing is corrupt; the only findings allowed are the temp files of the last killed pull
      // (no process can clean up after kill -9; the next pull or gc removes them).
      const fsck = await runCli(['fsck', '--json'], { env: env() });
      const problems = fsck.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { type: string; message?: string })
        .filter((l) => l.type === 'problem');
      for (const p of problems)
        assert.match(p.message!, /^tmp\/\S+: left by a process that is gone$/, `seed ${seed}`);
    }
    const last = await runCli(['pull', image], { env: env() });
    assert.equal(last.code, 0, last.stderr);
    assert.deepEqual(await checkStore(home.home, { trees: true }), []);
    if (hasCommand('fsck')) {
      const fsck = await runCli(['fsck'], { env: env() });
      assert.equal(fsck.code, 0, `strata fsck after the last pull: ${fsck.stdout}${fsck.stderr}`);
      assert.match(fsck.stdout, /no problems/);
    }
    assert.ok(openStore(home.home).findImage(`docker.io/library/${image}`));
  });

  it('Ctrl-C (SIGINT) stops a pull cleanly: exit 130, no temp files, no name', async function () {
    const child = spawn(process.execPath, [cliBundle, 'pull', image], {
      env: { ...process.env, ...env() },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    // Interrupt once the download has begun (the first progress line), as a user would.
    await new Promise<void>((resolve) => child.stdout!.once('data', () => resolve()));
    await new Promise((r) => setTimeout(r, 150));
    child.kill('SIGINT');
    const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    assert.equal(code, 130, stderr);
    assert.match(stderr, /cancelled by SIGINT/);
    const tmp = path.join(home.home, 'tmp');
    assert.deepEqual(
      fs.readdirSync(tmp).filter((f) => f !== 'locks'),
      [],
      'no temp files or trees left',
    );
    assert.deepEqual(openStore(home.home).listImages(), []);
    assert.deepEqual(await checkStore(home.home), []);
  });

  it('4 pulls at once, two of the same image, while gc runs', async function () {
    this.timeout(300_000);
    const refs = [image, image, 'busybox:latest', 'busybox:1.35'];
    const pulls = refs.map((r) => runCli(['pull', r], { env: env(), timeoutMs: 240_000 }));
    const gc = hasCommand('gc') ? [runCli(['gc'], { env: env(), timeoutMs: 240_000 })] : [];
    const results = await Promise.all([...pulls, ...gc]);
    results.forEach((r, i) => assert.equal(r.code, 0, `${i < 4 ? `pull ${refs[i]}` : 'gc'}: ${r.stderr}`));
    assert.deepEqual(await checkStore(home.home, { trees: true }), []);
    const names = openStore(home.home)
      .listImages()
      .map((i) => i.name)
      .sort();
    assert.deepEqual(names, [...new Set(refs.map((r) => `docker.io/library/${r}`))].sort());
    if (hasCommand('gc')) {
      // gc after the pulls keeps everything named.
      const again = await runCli(['gc'], { env: env() });
      assert.equal(again.code, 0, again.stderr);
      assert.deepEqual(await checkStore(home.home, { trees: true }), []);
    }
  });
});
