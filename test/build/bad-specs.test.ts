// Bad specs stop `strata build` and `strata run` before anything is built: exit 1 and one
// `file:line:col: error: ...` line per problem, from the same parser the editor uses.
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { cliBundle, requirePrerequisites, useTempStrataHome } from '../support';
import { strata, writeSpec } from './helpers';

const CASES: { name: string; spec: string; where: RegExp; says: RegExp }[] = [
  {
    name: 'YAML syntax',
    spec: 'strata: 1\nname: bad\nfrom: docker.io/library/busybox:1.35\nsteps:\n  - run: "unterminated\n',
    where: /strata\.yaml:5:\d+: error:/,
    says: /./,
  },
  {
    name: 'an unknown key',
    spec: 'strata: 1\nname: bad\nfrom: docker.io/library/busybox:1.35\nstpes:\n  - run: true\n',
    where: /strata\.yaml:4:1: error:/,
    says: /steps/,
  },
  {
    name: 'a missing copy source',
    spec: 'strata: 1\nname: bad\nfrom: docker.io/library/busybox:1.35\nsteps:\n  - copy: { src: ./nowhere, dest: /opt/x }\n',
    where: /strata\.yaml:5:\d+: error:/,
    says: /nowhere/,
  },
  {
    name: 'a bad image ref',
    spec: 'strata: 1\nname: bad\nfrom: docker.io/library/Busy Box:1.35\nsteps:\n  - run: true\n',
    where: /strata\.yaml:3:\d+: error:/,
    says: /./,
  },
];

describe('build: bad specs exit 1 with file:line:col messages', function () {
  before(function () {
    requirePrerequisites(this, { files: [cliBundle] });
  });
  const env = useTempStrataHome();

  for (const c of CASES) {
    it(`reports ${c.name}`, async function () {
      const dir = path.join(env.workspace, 'bad');
      writeSpec(dir, c.spec);
      for (const command of [['build'], ['run', '--', 'true']]) {
        const r = await strata(command, env.home, dir);
        assert.equal(r.code, 1, `${command[0]}: ${r.stderr}`);
        assert.match(r.stderr, c.where);
        assert.match(r.stderr, c.says);
        assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace for a user error');
      }
    });
  }
});
