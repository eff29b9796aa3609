// Resource limits. As root here a cgroup v1 hierarchy is writable, so limits are enforced and an
// OOM kill is reported; as the unprivileged user no cgroup is writable (no systemd delegation on
// this machine), so the run goes on with exactly one warning, also sent as a status event.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { runInSandbox, startSandbox, type SandboxEvent } from '../../server/src/engine/sandbox/run';
import { isRoot, requirePrerequisites, strataBox } from '../support';
import { imageRootfs } from './images';

const NO_CGROUP = /no writable cgroup .*not enforced/;

describe('strata-box run limits', function () {
  let busybox = '';
  before(async function () {
    requirePrerequisites(this, { commands: ['skopeo', 'umoci'], files: [strataBox] });
    busybox = await imageRootfs('library/busybox:latest');
  });

  it('OOM-kills a workload over --memory and reports it (warns once where no cgroup is writable)', async function () {
    const events: SandboxEvent[] = [];
    const r = await runInSandbox({
      rootfs: busybox,
      memoryBytes: 64 << 20,
      // dd allocates and fills a 256 MiB buffer.
      command: ['/bin/dd', 'if=/dev/zero', 'of=/dev/null', 'bs=256M', 'count=1'],
      onEvent: (e) => events.push(e),
    });
    const warnings = events.filter((e) => e.event === 'warning');
    if (isRoot()) {
      assert.equal(warnings.length, 0, JSON.stringify(warnings));
      assert.equal(r.oomKilled, true);
      assert.equal(r.exitCode, 137);
      assert.equal(r.signal, 9);
    } else {
      assert.equal(warnings.length, 1);
      assert.match(r.warnings[0], NO_CGROUP);
      assert.equal((r.stderr.match(/warning:/g) ?? []).length, 1, r.stderr);
      assert.equal(r.exitCode, 0, r.stderr);
      assert.equal(r.oomKilled, false);
    }
  });

  it('stops a fork bomb at --pids', async function () {
    // The loop runs in a subshell, which busybox ends when a fork fails; counting after it uses
    // only built-ins, since no fork is left to use.
    const r = await runInSandbox({
      rootfs: busybox,
      pids: 16,
      command: [
        '/bin/sh',
        '-c',
        '(i=0; while [ $i -lt 64 ]; do sleep 60 & i=$((i+1)); done) 2>/dev/null; ' +
          'n=0; for p in /proc/[0-9]*; do n=$((n+1)); done; echo "processes $n"',
      ],
    });
    assert.equal(r.exitCode, 0, r.stderr);
    const n = Number(/processes (\d+)/.exec(r.stdout)?.[1]);
    if (isRoot()) assert.ok(n <= 16, `${n} processes ran under --pids 16`);
    else {
      assert.ok(n > 16, `without a cgroup the limit is not enforced (${n})`);
      assert.match(r.warnings.join('\n'), NO_CGROUP);
    }
  });

  it('sets a CFS quota for --cpus in the container\'s own cgroup, removed afterwards', async function () {
    if (!isRoot()) {
      const r = await runInSandbox({ rootfs: busybox, cpus: 0.5, command: ['/bin/true'] });
      assert.equal(r.exitCode, 0);
      assert.match(r.warnings.join('\n'), NO_CGROUP);
      return;
    }
    const p = startSandbox({ rootfs: busybox, cpus: 0.5, stdin: 'pipe', command: ['/bin/sh', '-c', 'echo ready; read x'] });
    await new Promise<void>((resolve) => p.child.stdout!.on('data', (d: Buffer) => d.toString().includes('ready') && resolve()));
    const dir = findCgroupDir('cpu', p.child.pid!);
    try {
      assert.equal(fs.readFileSync(`${dir}/cpu.cfs_quota_us`, 'utf8').trim(), '50000');
      assert.equal(fs.readFileSync(`${dir}/cpu.cfs_period_us`, 'utf8').trim(), '100000');
    } finally {
      p.child.stdin!.end('go\n');
    }
    assert.equal((await p.result).exitCode, 0);
    assert.ok(!fs.existsSync(dir), `${dir} was removed`);
  });
});

/** The v1 cgroup strata-box (pid) made for its container: <hierarchy><our path>/strata-box-PID. */
function findCgroupDir(controller: string, pid: number): string {
  const line = fs
    .readFileSync('/proc/self/cgroup', 'utf8')
    .split('\n')
    .find((l) => l.split(':')[1]?.split(',').includes(controller));
  assert.ok(line, `no ${controller} hierarchy`);
  const own = line.split(':')[2];
  return `/sys/fs/cgroup/${controller}${own === '/' ? '' : own}/strata-box-${pid}`;
}
