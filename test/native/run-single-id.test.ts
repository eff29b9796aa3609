// `strata-box run --single-id`: container root is the invoking user alone even where /etc/subuid
// gives a range, so a build step sees the same ids whoever runs it (engine/build/README.md "Same
// layers for every user"). The root pass runs the binary as the range user (strata-test-range,
// 400000:65536) with and without the flag; the strata-test pass checks that the flag changes
// nothing for a user without a range.
import * as assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { sandboxArgs } from '../../server/src/engine/sandbox/run';
import {
  ensureTestUsers,
  isRoot,
  RANGE_USER,
  requirePrerequisites,
  runAsUnprivileged,
  strataBox,
  uidOf,
} from '../support';
import { imageRootfs, rootfsCopy } from './images';

/** The lines of /proc/self/uid_map (or gid_map) as [inside, outside, count]. */
function mapLines(text: string): number[][] {
  return text
    .trim()
    .split('\n')
    .map((l) => l.trim().split(/\s+/).map(Number));
}

const SHOW_MAPS = 'cat /proc/self/uid_map; echo --; cat /proc/self/gid_map';

function splitMaps(stdout: string): { uid: number[][]; gid: number[][] } {
  const [uid = '', gid = ''] = stdout.split('--\n');
  return { uid: mapLines(uid), gid: mapLines(gid) };
}

describe('strata-box run --single-id', function () {
  let busybox = '';
  before(async function () {
    requirePrerequisites(this, { commands: ['skopeo', 'umoci', 'newuidmap'], files: [strataBox] });
    busybox = await imageRootfs('library/busybox:latest');
  });

  it('single-id: the engine passes it as --single-id', function () {
    const args = sandboxArgs({ rootfs: '/r', fakeroot: true, singleId: true, command: ['true'] });
    assert.deepEqual(args, ['run', '--rootfs', '/r', '--net', 'none', '--fakeroot', '--single-id', '--', 'true']);
    assert.ok(!sandboxArgs({ rootfs: '/r', command: ['true'] }).includes('--single-id'), 'off unless asked');
  });

  it('single-id: is listed in --help', function () {
    const r = spawnSync(strataBox, ['run', '--help'], { encoding: 'utf8' });
    assert.equal(r.status, 0);
    assert.match(r.stdout, /--single-id\s+map container root to the invoking user alone/);
  });

  it('single-id: maps the invoking ids alone for a user without a range (and root), as without the flag', function () {
    const run = (flags: string[]) =>
      spawnSync(strataBox, ['run', ...flags, '--rootfs', busybox, '--', '/bin/sh', '-c', SHOW_MAPS], {
        encoding: 'utf8',
      });
    const plain = run([]);
    const single = run(['--single-id']);
    assert.equal(single.status, 0, single.stderr);
    assert.equal(plain.status, 0, plain.stderr);
    const want = { uid: [[0, process.getuid!(), 1]], gid: [[0, process.getgid!(), 1]] };
    assert.deepEqual(splitMaps(single.stdout), want);
    assert.deepEqual(splitMaps(plain.stdout), want);
  });

  // Only root can become the range user; the strata-test pass has the test above.
  const asRoot = isRoot() ? it : undefined;
  asRoot?.(
    'single-id: a subuid-range user gets a one-line uid_map with the flag and the range without it',
    async function () {
      ensureTestUsers();
      const copy = await rootfsCopy(busybox);
      try {
        const rangeUid = uidOf(RANGE_USER);
        execFileSync('chown', ['-R', `${rangeUid}:${rangeUid}`, copy.dir]);
        // Under --fakeroot a chown succeeds without effect in the single-id container, and is real
        // (to a subordinate id) in the range one: the difference build steps must not see.
        const script = `${SHOW_MAPS}; echo --; touch /tmp/owned && chown 1000:1000 /tmp/owned && stat -c %u /tmp/owned`;
        const asRange = (flags: string[]) =>
          runAsUnprivileged(
            strataBox,
            ['run', ...flags, '--fakeroot', '--rootfs', copy.dir, '--', '/bin/sh', '-c', script],
            { user: RANGE_USER },
          );

        const single = await asRange(['--single-id']);
        assert.equal(single.code, 0, single.stderr);
        const [uidText = '', gidText = '', owner = ''] = single.stdout.split('--\n');
        assert.deepEqual(mapLines(uidText), [[0, rangeUid, 1]], `one uid_map line:\n${single.stdout}`);
        assert.deepEqual(mapLines(gidText), [[0, rangeUid, 1]], `one gid_map line:\n${single.stdout}`);
        assert.equal(owner.trim(), '0', 'chown faked: the file stays container root’s');
        assert.equal(fs.statSync(path.join(copy.dir, 'tmp', 'owned')).uid, rangeUid, 'owned by the user on the host');

        fs.rmSync(path.join(copy.dir, 'tmp', 'owned'));
        const range = await asRange([]);
        assert.equal(range.code, 0, range.stderr);
        const [rUid = '', rGid = '', rOwner = ''] = range.stdout.split('--\n');
        assert.deepEqual(mapLines(rUid), [
          [0, rangeUid, 1],
          [1, 400000, 65535],
        ]);
        assert.deepEqual(mapLines(rGid), [
          [0, rangeUid, 1],
          [1, 400000, 65535],
        ]);
        assert.equal(rOwner.trim(), '1000', 'a real chown with the range');
        assert.equal(fs.statSync(path.join(copy.dir, 'tmp', 'owned')).uid, 400999);

        // With one id mapped, any other --uid is refused clearly (exit 241), as for a single-id user.
        const refused = await runAsUnprivileged(
          strataBox,
          ['run', '--single-id', '--uid', '1000', '--rootfs', copy.dir, '--', '/bin/true'],
          { user: RANGE_USER },
        );
        assert.equal(refused.code, 241, refused.stderr);
        assert.match(refused.stderr, /--uid 1000\/--gid 0 is not mapped in this container \(only id 0 is/);
        assert.match(refused.stderr, /run without --single-id to map the user's \/etc\/subuid range/, 'names the fix');
      } finally {
        copy.dispose();
      }
    },
  );
});
