// The case the build engine depends on: apt-get in the real Debian image, with only one id mapped
// (container root is the invoking user), made to work by --fakeroot (chown and set*id succeed
// without effect) and host networking to reach Debian's mirror.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runInSandbox } from '../../server/src/engine/sandbox/run';
import { inCI, requirePrerequisites, strataBox } from '../support';
import { freshOverlay, imageRootfs } from './images';

const APT = 'apt-get -q -o APT::Sandbox::User=root';

describe('strata-box run in the Debian image', function () {
  this.timeout(300000);
  before(function () {
    requirePrerequisites(this, { commands: ['skopeo', 'umoci'], files: [strataBox] });
    if (process.env.STRATA_TEST_DEBIAN === '0') {
      // Seeding Debian was switched off for a quick loop; CI may not do that.
      if (inCI) throw new Error('STRATA_TEST_DEBIAN=0 leaves out the Debian image this suite needs');
      console.log('    skipped: STRATA_TEST_DEBIAN=0 (no Debian image seeded)');
      this.skip();
    }
  });

  it('installs python3-minimal with apt-get in a single-id container with --fakeroot', async function () {
    const rootfs = await imageRootfs('library/debian:bookworm');
    const ov = freshOverlay(rootfs);
    try {
      const r = await runInSandbox({
        overlay: ov,
        net: 'host',
        fakeroot: true,
        env: { DEBIAN_FRONTEND: 'noninteractive', HOME: '/root' },
        command: [
          '/bin/sh',
          '-c',
          `cat /proc/self/uid_map; ${APT} update && ${APT} install -y --no-install-recommends python3-minimal && ` +
            'python3 -c "print(6 * 7)"',
        ],
      });
      assert.equal(r.exitCode, 0, `${r.stdout.slice(-1500)}\n${r.stderr.slice(-1500)}`);
      assert.match(r.stdout, /^42$/m);
      // The mapping really was a single id: the case --fakeroot exists for.
      assert.match(r.stdout, /^\s*0\s+\d+\s+1\s*$/m);
      // What apt installed landed in the upper dir; the image itself is unchanged.
      assert.ok(fs.existsSync(path.join(ov.upper, 'usr', 'bin', 'python3')));
      assert.ok(!fs.existsSync(path.join(rootfs, 'usr', 'bin', 'python3')));
      // Nothing strata-box mounted (resolv.conf, hosts) stayed behind in the layer.
      assert.ok(!fs.existsSync(path.join(ov.upper, 'etc', 'resolv.conf')));
      assert.ok(!fs.existsSync(path.join(ov.upper, 'etc', 'hosts')) || fs.statSync(path.join(ov.upper, 'etc', 'hosts')).size > 0);
    } finally {
      ov.dispose();
    }
  });
});
