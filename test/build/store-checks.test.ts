// fsck and gc on what a build leaves, as root and as the unprivileged user (the build suite runs
// twice): the trees a build makes (base layer unpacked, a run step's tree from its upper dir, a
// copy step's) record their listing, so an altered step tree is reported, `--repair` removes it,
// and the next (no-change) build unpacks it again from the cached layer; gc keeps everything the
// image and the cache reach, and removes the copy digest once the copied folder is gone.
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { cliBundle, requirePrerequisites, strataBox, useTempStrataHome } from '../support';
import { cliEnv, lockDigests, ok, stepStatuses, strata, writeSpec } from './helpers';

const SPEC = `strata: 1
name: checked
from: docker.io/library/busybox:latest
steps:
  - run: mkdir -p /out && echo made > /out/made.txt && chmod 640 /out/made.txt
  - copy: { src: ./files, dest: /opt/files }
workloads:
  show:
    command: [sh, -c, 'cat /out/made.txt /opt/files/a.txt; stat -c %a /out/made.txt']
`;

describe('build: fsck and gc on a built environment', function () {
  before(function () {
    requirePrerequisites(this, {
      commands: ['docker-registry', 'skopeo', 'umoci'],
      files: [cliBundle, strataBox],
    });
  });
  const env = useTempStrataHome();

  it('an altered step tree is found, repaired and unpacked again by the next build; gc keeps what the image needs', async () => {
    const dir = path.join(env.workspace, 'checked');
    writeSpec(dir, SPEC);
    fs.mkdirSync(path.join(dir, 'files'));
    fs.writeFileSync(path.join(dir, 'files', 'a.txt'), 'copied\n');
    const written = Date.now();
    ok(await strata(['build'], env.home, dir), 'build');
    const expected = 'made\ncopied\n640\n';
    const first = await strata(['run', 'show'], env.home, dir);
    ok(first, 'run');
    assert.equal(first.stdout, expected);
    ok(await strata(['fsck'], env.home, dir), 'fsck of a fresh build');

    const { diffIds } = lockDigests(fs.readFileSync(path.join(dir, 'strata.lock'), 'utf8'));
    const runTree = path.join(env.home, 'layers', 'sha256', diffIds[1]!.slice('sha256:'.length));
    fs.chmodSync(path.join(runTree, 'out', 'made.txt'), 0o600);
    const found = await strata(['fsck'], env.home, dir);
    assert.equal(found.code, 1, found.stdout);
    assert.match(found.stdout, /problem: layer tree [0-9a-f]{64}: .*\(altered\)/);
    ok(await strata(['fsck', '--repair'], env.home, dir), 'fsck --repair');
    assert.ok(!fs.existsSync(runTree), 'the altered tree is gone');

    // The copy digest cache keeps no entry for a source changed within its racy window (1 s,
    // build/copy-digest-cache.ts); a fast machine gets here sooner, so let the window pass for the
    // next build to keep one, which gc must judge below.
    await new Promise((r) => setTimeout(r, Math.max(0, written + 1500 - Date.now())));
    const again = await strata(['build', '--json'], env.home, dir);
    ok(again, 'no-change build');
    assert.deepEqual(stepStatuses(again.stdout), ['cached', 'cached'], 'no step runs again');
    assert.ok(fs.existsSync(runTree), 'the cached layer was unpacked again');
    const second = await strata(['run', 'show'], env.home, dir);
    ok(second, 'run after the repair');
    assert.equal(second.stdout, expected);
    ok(await strata(['fsck', '--deep'], env.home, dir), 'fsck --deep after the re-unpack');

    const gc = await strata(['gc', '--json'], env.home, dir);
    ok(gc, 'gc');
    const kept = JSON.parse(gc.stdout.trim().split('\n').pop()!) as Record<string, number>;
    assert.equal(kept.removedTrees, 0);
    assert.equal(kept.removedCopyDigests, 0, 'the copy source is still there');
    fs.rmSync(path.join(dir, 'files'), { recursive: true });
    const gc2 = JSON.parse(
      (await strata(['gc', '--json'], env.home, dir)).stdout.trim().split('\n').pop()!,
    ) as Record<string, number>;
    assert.equal(gc2.removedCopyDigests, 1, 'the copy source is gone');
    const third = await strata(['run', 'show'], env.home, dir);
    assert.equal(third.code, 1, 'the spec now names a missing copy source');
    assert.match(third.stderr, /files/);
  });

  it('gc removes the scratch dir of a run killed outright, as soon as its owner is gone', async function () {
    const dir = path.join(env.workspace, 'killed');
    writeSpec(dir, SPEC.replace(/\n {2}- copy:.*\n/, '\n'));
    ok(await strata(['build'], env.home, dir), 'build');
    const child = spawn(process.execPath, [cliBundle, 'run', '--', 'sleep', '60'], {
      cwd: dir,
      env: { ...process.env, ...(await cliEnv(env.home)) },
      stdio: 'ignore',
    });
    const tmp = path.join(env.home, 'tmp');
    const runDirs = () => fs.readdirSync(tmp).filter((n) => n.startsWith('run-'));
    const leases = () => fs.readdirSync(path.join(tmp, 'locks')).filter((n) => n.startsWith('lease-'));
    while (runDirs().length === 0 || leases().length === 0) await new Promise((r) => setTimeout(r, 50));
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
    const [left] = runDirs();
    assert.ok(left, 'the killed run left its scratch dir');
    assert.match(left, new RegExp(`^run-${child.pid}-[0-9a-f]{12}$`), 'named after the process that owns it');

    const report = JSON.parse(
      (await strata(['gc', '--json'], env.home, dir)).stdout.trim().split('\n').pop()!,
    ) as {
      removedTemp: number;
    };
    assert.equal(report.removedTemp, 1, 'its owner is gone, so no run holds it');
    assert.deepEqual(runDirs(), [], 'the crashed run left nothing');
  });
});
