// The lock's text and the pure parts of the build: stable formatting (a round trip changes no
// byte), staleness naming the changed fields and steps, volatile-file rules, drift comparison.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isVolatile } from '../../server/src/engine/build/normalize';
import { loadSpec } from '../../server/src/engine/build/spec';
import { compareSummaries, type EntrySummary } from '../../server/src/engine/lock/drift';
import { formatLock, parseLock } from '../../server/src/engine/lock/format';
import { lockStaleness } from '../../server/src/engine/lock/stale';
import type { Lock } from '../../server/src/engine/lock/types';
import {
  specDigest,
  specFields,
  stepDefinitionDigest,
  stepText,
} from '../../server/src/engine/build/canonical';
import { useTempStrataHome } from '../support';

const D = (c: string) => `sha256:${c.repeat(64)}`;

function lockFor(specFile: string): Lock {
  const { spec } = loadSpec(specFile);
  return {
    lockVersion: 1,
    spec: { digest: specDigest(spec.source), fields: specFields(spec.source) },
    platform: spec.platform,
    epoch: 1767225600,
    base: { ref: spec.from, digest: D('a'), layers: [{ digest: D('b'), diffId: D('c'), size: 123 }] },
    steps: spec.steps.map((s, i) => ({
      step: stepText(s),
      definition: stepDefinitionDigest(s.source),
      key: D(String(i)),
      layer: { digest: D('d'), diffId: D('e'), size: 4 },
      ...(s.kind === 'apt' ? { apt: [{ name: 'python3-numpy', version: '1:1.24.2-1+deb12u1' }] } : {}),
      ...(s.kind === 'pip' ? { pip: [{ name: 'strata-demo', version: '1.0', sha256: 'f'.repeat(64) }] } : {}),
    })),
    image: { config: D('1'), manifest: D('2') },
  };
}

const SPEC = `strata: 1
name: t
from: docker.io/library/debian:bookworm
env: { A: "1" }
steps:
  - apt: [python3-numpy]
  - pip: ["strata-demo==1.0"]
  - run: 'echo "quoted: yes" > /x'
`;

describe('build: lock format, staleness, volatile files, drift (pure)', function () {
  const env = useTempStrataHome();

  it('formats a lock that parses back to the same value and the same text', function () {
    const file = path.join(env.workspace, 'strata.yaml');
    fs.writeFileSync(file, SPEC);
    const lock = lockFor(file);
    const text = formatLock(lock);
    const back = parseLock(text, 'strata.lock');
    assert.deepEqual(back, lock);
    assert.equal(formatLock(back), text);
    assert.match(text, /- step: "run: echo \\"quoted: yes\\" > \/x"/);
    assert.match(text, /version: "1:1\.24\.2-1\+deb12u1"/);
  });

  it('names the fields and steps that make a lock stale', function () {
    const file = path.join(env.workspace, 'strata.yaml');
    fs.writeFileSync(file, SPEC);
    const lock = lockFor(file);
    assert.deepEqual(lockStaleness(loadSpec(file).spec, lock), { stale: false, changed: [] });
    fs.writeFileSync(
      file,
      SPEC.replace('A: "1"', 'A: "2"').replace('python3-numpy', 'python3-scipy') + '  - run: true\n',
    );
    const s = lockStaleness(loadSpec(file).spec, lock);
    assert.equal(s.stale, true);
    assert.ok(s.changed.includes('env'), s.changed.join('; '));
    assert.ok(
      s.changed.some((c) => c.startsWith('step 1 (apt: [python3-numpy] -> apt: [python3-scipy])')),
      s.changed.join('; '),
    );
    assert.ok(
      s.changed.some((c) => c.startsWith('step 4 added')),
      s.changed.join('; '),
    );
    // Workloads and mounts are run-time settings: editing them does not make the lock stale.
    fs.writeFileSync(file, SPEC + 'workloads:\n  w: { command: [true] }\n');
    assert.equal(lockStaleness(loadSpec(file).spec, lock).stale, false);
  });

  it('refuses a damaged lock with the field and the way out', function () {
    assert.throws(
      () => parseLock('lockVersion: 1\nspec: {digest: nope}\nbase: {ref: x}\nimage: {}\n', 'strata.lock'),
      /strata\.lock: spec\.digest: expected a digest/,
    );
    assert.throws(() => parseLock('lockVersion: 9\n', 'strata.lock'), /lockVersion 9 is not supported/);
  });

  it('drops the files package managers leave behind, keeps the content', function () {
    for (const p of [
      'var/log/apt/history.log',
      'var/log/dpkg.log',
      'var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_InRelease',
      'var/cache/apt/pkgcache.bin',
      'var/cache/apt/archives/partial',
      'var/lib/dpkg/status-old',
      'var/cache/debconf/templates.dat-old',
      'var/cache/ldconfig/aux-cache',
      'usr/lib/python3/dist-packages/numpy/__pycache__/version.cpython-311.pyc',
      'usr/lib/python3/dist-packages/numpy/__pycache__',
      'root/.cache/pip/http/x',
    ])
      assert.ok(isVolatile(p), p);
    for (const p of [
      'var/lib/dpkg/status',
      'usr/lib/python3/dist-packages/numpy/version.py',
      'etc/ld.so.cache',
      'var/log',
      'var/lib/apt/extended_states',
    ])
      assert.ok(!isVolatile(p), p);
  });

  it('lists files added, removed and changed between two layers, with sizes', function () {
    const e = (size: number, sha256: string, mode = 0o644): EntrySummary => ({
      type: 'file',
      mode,
      uid: 0,
      gid: 0,
      size,
      sha256,
    });
    const locked = new Map([
      ['a', e(1, 'x')],
      ['b', e(2, 'y')],
      ['c', e(3, 'z')],
    ]);
    const built = new Map([
      ['a', e(1, 'x')],
      ['b', e(5, 'w', 0o755)],
      ['d', e(7, 'v')],
    ]);
    assert.deepEqual(compareSummaries(locked, built), [
      { path: '/b', change: 'changed', lockedSize: 2, builtSize: 5, what: ['content', 'mode 644 -> 755'] },
      { path: '/c', change: 'removed', lockedSize: 3 },
      { path: '/d', change: 'added', builtSize: 7 },
    ]);
  });
});
