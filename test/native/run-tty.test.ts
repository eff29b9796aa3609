// --tty: the workload gets a terminal of the container's own devpts, with the size of ours and
// every later size change passed on (a real pseudo-terminal drives strata-box here, through
// native/tests/pty-driver.py, as a terminal emulator would).
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { runInSandbox } from '../../server/src/engine/sandbox/run';
import { repoRoot, requirePrerequisites, runCollect, strataBox } from '../support';
import { imageRootfs } from './images';

const driver = path.join(repoRoot, 'native', 'tests', 'pty-driver.py');

describe('strata-box run --tty', function () {
  let busybox = '';
  before(async function () {
    requirePrerequisites(this, { commands: ['skopeo', 'umoci', 'python3'], files: [strataBox, driver] });
    busybox = await imageRootfs('library/busybox:latest');
  });

  it('gives the workload a terminal of our size and passes a resize on as SIGWINCH', async function () {
    const r = await runCollect(
      'python3',
      [
        driver,
        ...['33', '77', '50', '100', '--'],
        ...[strataBox, 'run', '--tty', '--rootfs', busybox, '--'],
        ...['/bin/sh', '-c', 'tty; stty size; trap "stty size; exit 3" WINCH; echo ready; while :; do sleep 0.05; done'],
      ],
      {},
    );
    assert.equal(r.code, 3, r.stdout + r.stderr);
    assert.match(r.stdout, /^\/dev\/pts\/0\r?$/m);
    assert.match(r.stdout, /^33 77\r?\nready\r?\n50 100\r?$/m);
  });

  it('relays piped input to the terminal and ends it with end-of-file', async function () {
    const r = await runCollect(strataBox, ['run', '--tty', '--rootfs', busybox, '--', '/bin/sh', '-c', 'tty; cat; echo end'], {}, 'hello\n');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /\/dev\/pts\/0\r?\nhello\r?\nend/);
  });

  it('works through the engine wrapper too', async function () {
    const r = await runInSandbox({ rootfs: busybox, tty: true, command: ['/bin/sh', '-c', 'test -t 0 && test -t 1 && echo both-tty'] });
    assert.equal(r.exitCode, 0);
    assert.match(r.stdout, /both-tty/);
  });
});
