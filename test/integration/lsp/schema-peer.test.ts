// The JSON schemas serve other YAML tooling too: yaml-language-server (the engine of the VS Code
// YAML extension) validates a spec and a lock with them through the `$schema` modeline.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { DidChangeConfigurationNotification } from 'vscode-languageserver-protocol/node';
import { repoRoot, requirePrerequisites } from '../../support';
import { startServer, type ServerProcess } from './lspClient';
import { Workspace } from './workspace';

const bin = path.join(repoRoot, 'node_modules', 'yaml-language-server', 'bin', 'yaml-language-server');
const modeline = (schema: string) =>
  `# yaml-language-server: $schema=${pathToFileURL(path.join(repoRoot, 'schemas', schema)).href}\n`;

describe('the JSON schemas in yaml-language-server', function () {
  let server: ServerProcess;
  let ws: Workspace;

  before(function () {
    requirePrerequisites(this, { files: [bin] });
  });

  beforeEach(async () => {
    ws = new Workspace();
    const settings = { yaml: { validate: true, schemaStore: { enable: false } } };
    server = await startServer(process.execPath, [bin, '--stdio'], {
      configuration: (s) => (s === 'yaml' ? settings.yaml : null),
    });
    await server.connection.sendNotification(DidChangeConfigurationNotification.type, { settings });
  });

  afterEach(async () => {
    await server.stop();
    ws.remove();
  });

  async function diagnose(rel: string, text: string): Promise<string[]> {
    const uri = ws.uri(rel);
    const published = server.nextDiagnostics(uri);
    server.open(uri, text);
    return (await published).diagnostics.map((d) => `${d.range.start.line}: ${d.message}`);
  }

  it('accepts a valid spec and flags unknown keys and wrong values', async () => {
    const valid =
      modeline('strata.schema.json') +
      fs.readFileSync(path.join(repoRoot, 'examples', 'quickstart', 'strata.yaml'), 'utf8');
    assert.deepEqual(await diagnose('ok.strata.yaml', valid), []);
    const bad =
      modeline('strata.schema.json') +
      'strata: 1\nname: x\nfrom: debian:12\nstepz: []\nworkloads:\n  a:\n    command: [x]\n    network: hots\n';
    const found = await diagnose('bad.strata.yaml', bad);
    assert.ok(
      found.some((d) => d.startsWith('4: ') && /stepz/.test(d)),
      found.join('\n'),
    );
    assert.ok(
      found.some((d) => d.startsWith('8: ')),
      found.join('\n'),
    );
  });

  it('accepts a lock the engine wrote, and flags an edited one', async () => {
    ws.lockFor('strata: 1\nname: x\nfrom: debian:12\nsteps: [{ apt: [make] }]\n');
    const lock = fs.readFileSync(path.join(ws.dir, 'strata.lock'), 'utf8');
    assert.deepEqual(await diagnose('a.lock.yaml', modeline('strata-lock.schema.json') + lock), []);
    const found = await diagnose(
      'b.lock.yaml',
      modeline('strata-lock.schema.json') + lock.replace('epoch:', 'epoc:'),
    );
    assert.ok(
      found.some((d) => /epoc/.test(d)),
      found.join('\n'),
    );
  });
});
