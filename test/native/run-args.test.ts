// The engine's side of the `strata-box run` contract: options become exactly the documented flags,
// and the status-fd events come out as native/README.md describes them (checked against the real
// binary, including a failure of strata-box itself).
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { sandboxArgs } from '../../server/src/engine/sandbox/run';
import { StrataError } from '../../server/src/engine/errors';
import { requirePrerequisites, strataBox } from '../support';
import { imageRootfs } from './images';

describe('strata-box run contract', function () {
  it('maps every option to its flag, in a stable order, with the command after --', function () {
    const args = sandboxArgs(
      {
        overlay: { lower: ['/l/top', '/l/base'], upper: '/u', work: '/w' },
        mounts: [
          { type: 'ro-bind', src: '/data', dest: '/data' },
          { type: 'bind', src: '/out', dest: '/results' },
          { type: 'dev-bind', src: '/dev/fuse', dest: '/dev/fuse' },
          { type: 'tmpfs', dest: '/tmp' },
        ],
        env: { A: '1', PATH: '/bin' },
        cwd: '/job',
        hostname: 'h',
        uid: 1000,
        gid: 100,
        net: 'host',
        readOnly: true,
        tty: true,
        fakeroot: true,
        memoryBytes: 1.5 * 2 ** 30,
        pids: 256,
        cpus: 1.5,
        graceMs: 500,
        command: ['python3', '-c', 'print(1)'],
      },
      3,
    );
    assert.deepEqual(args, [
      'run',
      ...['--lower', '/l/top', '--lower', '/l/base', '--upper', '/u', '--work', '/w'],
      ...['--ro-bind', '/data', '/data', '--bind', '/out', '/results', '--dev-bind', '/dev/fuse', '/dev/fuse'],
      ...['--tmpfs', '/tmp', '--env', 'A=1', '--env', 'PATH=/bin', '--cwd', '/job', '--hostname', 'h'],
      ...['--uid', '1000', '--gid', '100', '--net', 'host', '--read-only', '--tty', '--fakeroot'],
      ...['--memory', String(1.5 * 2 ** 30), '--pids', '256', '--cpus', '1.5', '--grace-ms', '500'],
      ...['--status-fd', '3', '--', 'python3', '-c', 'print(1)'],
    ]);
    assert.deepEqual(sandboxArgs({ rootfs: '/r', command: ['true'] }), ['run', '--rootfs', '/r', '--net', 'none', '--', 'true']);
  });

  it('refuses options strata-box could not express', function () {
    assert.throws(() => sandboxArgs({ command: ['true'] }), StrataError);
    assert.throws(() => sandboxArgs({ rootfs: '/r', overlay: { lower: ['/l'] }, command: ['true'] }), StrataError);
    assert.throws(() => sandboxArgs({ overlay: { lower: ['/a:b'] }, command: ['true'] }), /may not contain ':'/);
    assert.throws(() => sandboxArgs({ rootfs: '/r', command: [] }), StrataError);
  });

  describe('status events from the real binary', function () {
    let busybox = '';
    before(async function () {
      requirePrerequisites(this, { commands: ['skopeo', 'umoci'], files: [strataBox] });
      busybox = await imageRootfs('library/busybox:latest');
    });

    async function events(args: string[]): Promise<{ code: number | null; lines: Record<string, unknown>[]; stderr: string }> {
      const child = spawn(strataBox, ['run', '--status-fd', '3', ...args], { stdio: ['ignore', 'ignore', 'pipe', 'pipe'] });
      let status = '';
      let stderr = '';
      child.stdio[3]!.on('data', (d: Buffer) => (status += d.toString()));
      child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
      const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
      return { code, stderr, lines: status.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>) };
    }

    it('writes started then exited with the documented fields', async function () {
      const r = await events(['--rootfs', busybox, '--', '/bin/sh', '-c', 'exit 3']);
      assert.equal(r.code, 3);
      assert.deepEqual(
        r.lines.map((l) => l.event),
        ['started', 'exited'],
      );
      assert.equal(typeof r.lines[0].pid, 'number');
      assert.deepEqual(Object.keys(r.lines[1]).sort(), [
        'event',
        'exit_code',
        'max_rss_kb',
        'oom_killed',
        'signal',
        'system_ms',
        'user_ms',
        'wall_ms',
      ]);
      assert.equal(r.lines[1].exit_code, 3);
    });

    it('writes one error event, the same line on stderr, and a class exit code when strata-box fails', async function () {
      const r = await events(['--rootfs', busybox, '--bind', '/no/such/source', '/x', '--', '/bin/true']);
      assert.equal(r.code, 244);
      assert.deepEqual(r.lines, [
        { event: 'error', exit_code: 244, message: "bind source '/no/such/source': No such file or directory" },
      ]);
      assert.equal(r.stderr, "strata-box: bind source '/no/such/source': No such file or directory\n");
    });

    it('reports a command that cannot be found as an error event with 127, not as exited', async function () {
      const r = await events(['--rootfs', busybox, '--', 'no-such-command']);
      assert.equal(r.code, 127);
      assert.deepEqual(r.lines, [
        { event: 'error', exit_code: 127, message: "cannot execute 'no-such-command': No such file or directory" },
      ]);
    });
  });
});
