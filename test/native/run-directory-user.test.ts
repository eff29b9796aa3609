// The id mapping for a user that /etc/passwd does not list, as LDAP or SSSD users on a cluster are:
// strata-box is linked statically and cannot use NSS itself, so it asks `getent passwd UID` for the
// name its /etc/subuid line is under (native/src/username.c). The test makes such a user in a
// private mount namespace: the NSS "db" source (libnss-db) knows it, /etc/passwd does not, and
// /etc/subuid and /etc/subgid give it a range by name. Only root can set that up, so the test runs
// in the root pass; the strata-test pass has nothing to change here.
import * as assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { isRoot, makeTempDir, removeTree, requirePrerequisites, strataBox } from '../support';
import { imageRootfs, rootfsCopy } from './images';

const NAME = 'strata-dirsvc';
const UID = 450000;
const RANGE = 500000;

/** A shell script that sets up the user in the private mount namespace it runs in, then runs argv as it. */
function asDirectoryUser(dir: string, argv: string[]): string[] {
  const line = `${NAME}:x:${UID}:${UID}::/:/bin/sh`;
  const script = [
    'set -e',
    // libnss-db's key forms: 0 + index, . + name, = + uid.
    `printf '00 %s\\n.${NAME} %s\\n=${UID} %s\\n' '${line}' '${line}' '${line}' | makedb -o "$D/passwd.db" -`,
    'mount -t tmpfs none /var/lib/misc && cp "$D/passwd.db" /var/lib/misc/',
    `sed 's/^passwd:.*/passwd: files db/' /etc/nsswitch.conf > "$D/nsswitch.conf"`,
    'mount --bind "$D/nsswitch.conf" /etc/nsswitch.conf',
    `for f in subuid subgid; do cp /etc/$f "$D/$f"; echo '${NAME}:${RANGE}:65536' >> "$D/$f"; mount --bind "$D/$f" /etc/$f; done`,
    // The user is unknown to /etc/passwd and known to NSS: what the test is about.
    `! grep -q '^${NAME}:' /etc/passwd`,
    `test "$(getent passwd ${UID} | cut -d: -f1)" = ${NAME}`,
    `exec setpriv --reuid=${UID} --regid=${UID} --clear-groups "$@"`,
  ].join('\n');
  return ['unshare', '-m', '--propagation', 'private', 'env', `D=${dir}`, 'sh', '-c', script, 'sh', ...argv];
}

describe('strata-box run for a user only a directory service knows', function () {
  let busybox = '';
  before(async function () {
    requirePrerequisites(this, { commands: ['makedb', 'setpriv', 'newuidmap', 'skopeo', 'umoci'], files: [strataBox] });
    busybox = await imageRootfs('library/busybox:latest');
  });

  const asRoot = isRoot() ? it : undefined;
  asRoot?.('maps its /etc/subuid range, found under the name getent gives', async function () {
    const dir = makeTempDir('dirsvc');
    const copy = await rootfsCopy(busybox);
    try {
      fs.chmodSync(dir, 0o755);
      execFileSync('chown', ['-R', `${UID}:${UID}`, copy.dir]);
      const argv = [strataBox, 'run', '--rootfs', copy.dir, '--', '/bin/sh', '-c', 'cat /proc/self/uid_map /proc/self/gid_map'];
      const [cmd, ...args] = asDirectoryUser(dir, argv);
      const r = spawnSync(cmd, args, { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      const lines = r.stdout
        .trim()
        .split('\n')
        .map((l) => l.trim().split(/\s+/).map(Number));
      // Without the name strata-box would not find the range and would map the user alone.
      assert.deepEqual(lines, [
        [0, UID, 1],
        [1, RANGE, 65535],
        [0, UID, 1],
        [1, RANGE, 65535],
      ]);
    } finally {
      copy.dispose();
      removeTree(dir);
    }
  });
});
