// `strata validate` through the built CLI, as CI pipelines and pre-commit hooks run it.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { cliBundle, examplesDir, fixturesDir, requirePrerequisites, runCli } from '../../support';
import { Workspace } from './workspace';

const broken = path.join(fixturesDir, 'specs', 'broken');

describe('strata validate', function () {
  before(function () {
    requirePrerequisites(this, { files: [cliBundle] });
  });

  it('prints file:line:col: severity: message for each problem and exits 1 on errors', async () => {
    const r = await runCli(['validate', 'workload-typo.yaml', 'apt-bad-names.yaml'], { cwd: broken });
    assert.equal(r.code, 1, r.stderr);
    assert.deepEqual(r.stdout.trim().split('\n'), [
      "workload-typo.yaml:6:5: error: unknown key 'comand' in workload 'fit'; did you mean 'command'?",
      "apt-bad-names.yaml:5:11: error: Debian package names are lower case: 'python3'",
      "apt-bad-names.yaml:5:20: error: '-y' is an option, not a package; apt steps take package names only",
      "apt-bad-names.yaml:5:24: error: 'gcc g++' holds several words; list one package per item: [gcc, g++]",
      "apt-bad-names.yaml:5:35: error: 'x' is not a Debian package name (lower-case letters, digits, + - . and at least two characters)",
    ]);
    assert.match(r.stderr, /2 files checked: 5 errors, 0 warnings/);
  });

  it('agrees with the corpus expectations for every broken spec', async () => {
    const files = fs.readdirSync(broken).filter((f) => f.endsWith('.yaml'));
    const r = await runCli(['validate', ...files], { cwd: broken });
    assert.equal(r.code, 1);
    // The corpus holds the spec's own diagnostics; the CLI adds "no strata.lock yet" to the
    // specs that have no errors.
    const printed = r.stdout
      .trim()
      .split('\n')
      .filter((l) => !l.includes(': information: no strata.lock yet'));
    const expected = files.flatMap((f) =>
      fs
        .readFileSync(path.join(broken, f.replace(/\.yaml$/, '.expected')), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => {
          const m = /^(\d+):(\d+)-\S+ (\w+) [\w-]+: (.*)$/.exec(l)!;
          return `${f}:${m[1]}:${m[2]}: ${m[3]}: ${m[4].replaceAll('<dir>', broken).split('\n')[0]}`;
        }),
    );
    assert.deepEqual(printed, expected);
  });

  it('exits 0 for a valid spec (a folder works too), and 1 on warnings with --strict', async () => {
    const ok = await runCli(['validate', path.join(examplesDir, 'quickstart')], { cwd: examplesDir });
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    const ws = new Workspace();
    try {
      ws.file('strata.yaml', 'strata: 1\nname: w\nfrom: debian:latest\n');
      ws.lockFor('strata: 1\nname: w\nfrom: debian:latest\n');
      const warned = await runCli(['validate'], { cwd: ws.dir });
      assert.equal(warned.code, 0);
      assert.equal(
        warned.stdout.trim(),
        "strata.yaml:3:7: warning: 'latest' moves whenever the image is republished; strata.lock pins the digest this build used, but a build without the lock may get another image. Name a release, e.g. debian:bookworm-slim",
      );
      assert.equal((await runCli(['validate', '--strict'], { cwd: ws.dir })).code, 1);
      const json = await runCli(['validate', '--json', 'strata.yaml'], { cwd: ws.dir });
      const record = JSON.parse(json.stdout.trim()) as Record<string, unknown>;
      assert.deepEqual(
        { ...record, message: undefined },
        {
          file: 'strata.yaml',
          line: 3,
          column: 7,
          endLine: 3,
          endColumn: 20,
          severity: 'warning',
          code: 'floating-tag',
          message: undefined,
        },
      );
      // A stale lock is a warning naming the field.
      ws.file('strata.yaml', 'strata: 1\nname: w\nfrom: debian:12\n');
      const stale = await runCli(['validate'], { cwd: ws.dir });
      assert.match(stale.stdout, /strata\.yaml:3:1: warning: 'from' changed since strata.lock was written/);
      // The lock file itself is validated too.
      fs.writeFileSync(path.join(ws.dir, 'strata.lock'), 'lockVersion: 1\n');
      const lock = await runCli(['validate', 'strata.lock'], { cwd: ws.dir });
      assert.equal(lock.code, 1);
      assert.match(lock.stdout, /^strata\.lock:1:1: error: the file is missing 'spec'/m);
    } finally {
      ws.remove();
    }
  });

  it('names a missing file, and refuses unknown options', async () => {
    const missing = await runCli(['validate', 'nowhere.yaml'], { cwd: broken });
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /nowhere\.yaml: no such file or folder/);
    assert.doesNotMatch(missing.stderr, /\n\s+at /);
    const usage = await runCli(['validate', '--fix'], { cwd: broken });
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /unknown option '--fix'/);
  });
});
