// The CLI's command table is lazy (server/src/cli/commands/index.ts): `strata --help` lists from
// its names and summaries, each module is loaded when chosen. They must agree with the modules.
import * as assert from 'node:assert/strict';
import { commands } from '../../server/src/cli/commands';
import { cliBundle, requirePrerequisites, runCli } from '../support';

describe('build: the CLI command table', function () {
  it('each entry loads the command of its name, with the same summary', function () {
    for (const entry of commands) {
      const command = entry.load();
      assert.equal(command.name, entry.name);
      assert.equal(command.summary, entry.summary, `summary of ${entry.name}`);
    }
  });

  it('strata --help lists every command; strata COMMAND --help prints its usage', async function () {
    requirePrerequisites(this, { files: [cliBundle] });
    const help = await runCli(['--help'], {});
    assert.equal(help.code, 0);
    const listed = help.stdout.split('\n').map((l) => l.trim().split(/\s+/));
    for (const entry of commands)
      assert.ok(
        listed.some((words) => words[0] === entry.name && words.slice(1).join(' ') === entry.summary),
        `${entry.name} listed with its summary in:\n${help.stdout}`,
      );
    const run = await runCli(['run', '--help'], {});
    assert.equal(run.code, 0);
    assert.equal(
      run.stdout,
      commands
        .find((c) => c.name === 'run')!
        .load()
        .usage.trimEnd() + '\n',
    );
    const unknown = await runCli(['frobnicate'], {});
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown command 'frobnicate'/);
  });
});
