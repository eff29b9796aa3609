// Debian-based environments: examples/python-analysis (apt: python3-numpy) and a pip step from a
// local package index. Reproducibility is checked the strict way: a second build in a fresh store
// and a fresh workspace (no lock, no cache) gives the same diff_id for every layer, the apt and pip
// steps included, and the same manifest; `strata verify` (locked, throwaway store) says reproduced.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  cliBundle,
  makeTempDir,
  removeTree,
  requirePrerequisites,
  strataBox,
  useTempStrataHome,
} from '../support';
import { copyExample, debianSeeded, lockDigests, ok, strata, writeSpec } from './helpers';
import { startPackageIndex, type PackageIndex } from './package-index';

describe('build: Debian environments (apt, pip), reproducible across fresh stores', function () {
  this.timeout(900000);
  before(function () {
    if (!debianSeeded) {
      console.log('    skipped: STRATA_TEST_DEBIAN=0 (the registry has no debian:bookworm)');
      this.skip();
    }
    requirePrerequisites(this, {
      commands: ['docker-registry', 'skopeo', 'umoci', 'mmdebstrap', 'python3'],
      files: [cliBundle, strataBox],
    });
  });
  const env = useTempStrataHome();

  it('builds and runs examples/python-analysis; a fresh store and workspace give identical digests', async function () {
    const dir = copyExample('python-analysis', env.workspace);
    const build = await strata(['build'], env.home, dir);
    ok(build, 'build');
    const lock = fs.readFileSync(path.join(dir, 'strata.lock'), 'utf8');
    assert.match(lock, /apt:\n(\s+- \{ name: [^\n]+\n)+/);
    assert.match(lock, /- \{ name: python3-numpy, version: [^ ]+ \}/);
    assert.doesNotMatch(lock, /name: python3-numpy, version: [^ ]+ \}[\s\S]*name: python3-numpy,/);

    const run = await strata(['run'], env.home, dir);
    ok(run, 'run');
    const summary = JSON.parse(fs.readFileSync(path.join(dir, 'results', 'summary.json'), 'utf8')) as {
      rows: number;
    };
    assert.equal(summary.rows, 40);

    const otherRoot = makeTempDir('fresh');
    try {
      const otherHome = path.join(otherRoot, 'home');
      const otherDir = copyExample('python-analysis', otherRoot);
      ok(await strata(['build'], otherHome, otherDir), 'build in a fresh store');
      const lock2 = fs.readFileSync(path.join(otherDir, 'strata.lock'), 'utf8');
      const a = lockDigests(lock);
      const b = lockDigests(lock2);
      assert.equal(a.diffIds.length, 3);
      assert.deepEqual(b.diffIds, a.diffIds, 'every layer, the apt step included');
      assert.equal(b.manifest, a.manifest);
      assert.equal(lock2, lock);
    } finally {
      removeTree(otherRoot);
    }
  });

  describe('pip steps', function () {
    let index: PackageIndex;
    before(async function () {
      index = await startPackageIndex();
    });
    after(async function () {
      await index?.stop();
    });

    it('says plainly when the image has no pip', async function () {
      const dir = path.join(env.workspace, 'nopip');
      writeSpec(
        dir,
        `strata: 1\nname: nopip\nfrom: docker.io/library/debian:bookworm\nsteps:\n  - pip: [strata-demo==1.0]\n`,
      );
      const r = await strata(['build'], env.home, dir);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /strata\.yaml:5:5: step 1\/1 \(pip\) failed: the image has no pip/);
      assert.match(r.stderr, /python3-pip/);
    });

    it('installs from the local index, pins versions and hashes, reproduces in a fresh store, and verifies', async function () {
      const spec = `strata: 1
name: pipdemo
from: docker.io/library/debian:bookworm
steps:
  - apt: [python3-pip]
  - pip: [strata-demo==1.0]
    index-url: ${index.url}
workloads:
  scale:
    command: [python3, -c, "import strata_demo; print(strata_demo.scale(7))"]
`;
      const dir = path.join(env.workspace, 'pipdemo');
      writeSpec(dir, spec);
      ok(await strata(['build'], env.home, dir), 'build');
      const lock = fs.readFileSync(path.join(dir, 'strata.lock'), 'utf8');
      assert.match(
        lock,
        /pip:\n\s+- \{ name: strata-demo, version: "?1\.0"?, sha256: "?[0-9a-f]{64}"? \}\n\s+- \{ name: strata-demo-units, version: "?2\.0"?, sha256: "?[0-9a-f]{64}"? \}/,
      );
      const run = await strata(['run'], env.home, dir);
      ok(run, 'run');
      assert.equal(run.stdout.trim(), '7000');

      const otherRoot = makeTempDir('fresh');
      try {
        const otherDir = path.join(otherRoot, 'pipdemo');
        writeSpec(otherDir, spec);
        ok(await strata(['build'], path.join(otherRoot, 'home'), otherDir), 'build in a fresh store');
        const lock2 = fs.readFileSync(path.join(otherDir, 'strata.lock'), 'utf8');
        assert.deepEqual(
          lockDigests(lock2).diffIds,
          lockDigests(lock).diffIds,
          'every layer, the pip step included',
        );
        assert.equal(lock2, lock);
      } finally {
        removeTree(otherRoot);
      }

      const verify = await strata(['verify'], env.home, dir);
      ok(verify, 'verify');
      assert.match(verify.stdout, /reproduced/);
    });
  });
});
