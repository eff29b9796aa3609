// Protocol tests: the bundled language server (out/server.js) over stdio with a real LSP client,
// as Neovim or any editor would run it. Every feature is exercised through the protocol.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  CodeActionRequest,
  CodeLensRequest,
  CompletionRequest,
  DefinitionRequest,
  DidChangeWatchedFilesNotification,
  DocumentSymbolRequest,
  ExecuteCommandRequest,
  FileChangeType,
  HoverRequest,
  type CodeAction,
  type CompletionItem,
  type Diagnostic,
  type DocumentSymbol,
  type LocationLink,
  type MarkupContent,
} from 'vscode-languageserver-protocol/node';
import { EnvironmentInfoRequest, StatusNotification, type StatusParams } from '../../../server/src/protocol';
import { makeTempDir, removeTree, requirePrerequisites, serverBundle } from '../../support';
import { parseDigest } from '../../../server/src/engine/digest';
import { openStore } from '../../../server/src/engine/store/store';
import { startServer, type ServerProcess } from './lspClient';
import { BASE_DIGEST, Workspace } from './workspace';

const SPEC = [
  'strata: 1',
  'name: demo',
  'from: docker.io/library/debian:bookworm-slim',
  'steps:',
  '  - apt: [python3-numpy]',
  '  - copy: { src: ./src, dest: /opt/app }',
  'mounts:',
  '  - { src: ./data, dest: /data, readonly: true }',
  'workloads:',
  '  fit:',
  '    command: [python3, /opt/app/fit.py]',
  '',
].join('\n');

function codes(list: Diagnostic[] | undefined): string[] {
  return (list ?? []).map((d) => String(d.code)).sort();
}

describe('language server over stdio', function () {
  let ws: Workspace;
  let server: ServerProcess;
  let home: string;

  before(function () {
    requirePrerequisites(this, { files: [serverBundle] });
  });

  beforeEach(async () => {
    ws = new Workspace();
    ws.file('src/fit.py', 'print("fit")\n');
    ws.file('data/points.csv', '1,2\n');
    home = makeTempDir('lsp-home');
    // A build cache entry as the engine writes it (Store.putCacheEntry): its packages complete.
    openStore(home).putCacheEntry(parseDigest(`sha256:${'c'.repeat(64)}`), {
      layer: {
        mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
        digest: `sha256:${'d'.repeat(64)}`,
        size: 1,
      },
      diffId: `sha256:${'e'.repeat(64)}`,
      apt: [{ name: 'gfortran-12', version: '12.2.0-14' }],
    });
    server = await startServer(process.execPath, [serverBundle, '--stdio'], {
      rootUri: pathToFileURL(ws.dir).href,
      initializationOptions: { trusted: true },
      env: { ...process.env, STRATA_HOME: home },
    });
  });

  afterEach(async () => {
    await server.stop();
    ws.remove();
    removeTree(home);
  });

  async function open(rel: string, text: string): Promise<Diagnostic[]> {
    const uri = ws.uri(rel);
    const published = server.nextDiagnostics(uri);
    server.open(uri, text);
    return (await published).diagnostics;
  }

  it('publishes diagnostics on open, with exact ranges, and information when there is no lock', async () => {
    const spec = ws.file('strata.yaml', SPEC.replace('command:', 'comand:'));
    const diagnostics = await open('strata.yaml', fs.readFileSync(spec, 'utf8'));
    assert.deepEqual(codes(diagnostics), ['unknown-key']);
    const d = diagnostics[0];
    assert.deepEqual(d.range, { start: { line: 10, character: 4 }, end: { line: 10, character: 10 } });
    assert.match(d.message, /did you mean 'command'/);
    assert.equal(d.source, 'strata');
    const clean = await open('other.strata.yaml', SPEC);
    assert.deepEqual(codes(clean), ['no-lock']);
    assert.equal(clean[0].severity, 3);
  });

  it('applies incremental changes and publishes for the latest version', async () => {
    const uri = ws.uri('strata.yaml');
    await open('strata.yaml', SPEC);
    // Break the apt package (line 4: "  - apt: [python3-numpy]"), then fix it, in quick succession.
    const range = { start: { line: 4, character: 11 }, end: { line: 4, character: 18 } };
    server.change(uri, 2, [{ range, text: 'Python3' }]);
    const broken = server.nextDiagnostics(uri, 2);
    const d2 = await broken;
    // While the spec has errors there is nothing to compare with a lock.
    assert.deepEqual(codes(d2.diagnostics), ['bad-package']);
    const last = server.nextDiagnostics(uri, 5);
    server.change(uri, 3, [{ range, text: 'python3' }]);
    server.change(uri, 4, [
      { range: { start: { line: 1, character: 6 }, end: { line: 1, character: 10 } }, text: 'Demo' },
    ]);
    server.change(uri, 5, [
      { range: { start: { line: 1, character: 6 }, end: { line: 1, character: 10 } }, text: 'demo2' },
    ]);
    const final = await last;
    assert.equal(final.version, 5);
    assert.deepEqual(codes(final.diagnostics), ['no-lock']);
  });

  it('completes keys, step kinds, enum values, base images and locked package names', async () => {
    ws.lockFor(SPEC);
    const text = SPEC + '  run:\n    command: [x]\n    network: \n';
    await open('strata.yaml', text);
    const uri = ws.uri('strata.yaml');
    const at = async (line: number, character: number) =>
      (
        (await server.connection.sendRequest(CompletionRequest.type, {
          textDocument: { uri },
          position: { line, character },
        })) as CompletionItem[]
      ).map((c) => c.label);
    assert.ok((await at(13, 13)).includes('none'));
    assert.ok((await at(13, 13)).includes('host'));
    // A new line at the top level: the keys not yet written.
    const top = await at(11, 0);
    assert.ok(top.includes('platform') && top.includes('env'), top.join(','));
    assert.ok(!top.includes('from'), 'from is already there');
    // Inside the apt list: the package names strata.lock recorded.
    assert.ok((await at(4, 12)).includes('python3-numpy'));
    // And those the store's build cache has seen (read in the background at start).
    let seen: string[] = [];
    for (let i = 0; i < 100 && !seen.includes('gfortran-12'); i++) {
      seen = await at(4, 10);
      if (!seen.includes('gfortran-12')) await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(seen.includes('gfortran-12'), seen.join(','));
    // from: base images.
    const images = await at(2, 6);
    assert.ok(images.includes('docker.io/library/debian:bookworm-slim'));
    const snippet = (
      (await server.connection.sendRequest(CompletionRequest.type, {
        textDocument: { uri },
        position: { line: 11, character: 0 },
      })) as CompletionItem[]
    ).find((c) => c.label === 'env');
    assert.equal(snippet?.insertTextFormat, 2);
  });

  it('hovers with schema documentation, and the locked digest on from:', async () => {
    ws.lockFor(SPEC);
    await open('strata.yaml', SPEC);
    const uri = ws.uri('strata.yaml');
    const hover = async (line: number, character: number) =>
      (
        await server.connection.sendRequest(HoverRequest.type, {
          textDocument: { uri },
          position: { line, character },
        })
      )?.contents as MarkupContent | undefined;
    assert.match((await hover(7, 40))!.value, /readonly\*\*: true: workloads can read but not change it/);
    const from = (await hover(2, 10))!.value;
    assert.match(from, /Base image/);
    assert.ok(from.includes(BASE_DIGEST), from);
    assert.match(from, /1 layer, .* compressed, platform linux\/amd64/);
  });

  it('lists steps, mounts and workloads as document symbols', async () => {
    await open('strata.yaml', SPEC);
    const symbols = (await server.connection.sendRequest(DocumentSymbolRequest.type, {
      textDocument: { uri: ws.uri('strata.yaml') },
    })) as DocumentSymbol[];
    const steps = symbols.find((s) => s.name === 'steps')!;
    assert.deepEqual(
      steps.children!.map((c) => c.name),
      ['1. apt: python3-numpy', '2. copy: ./src → /opt/app'],
    );
    assert.deepEqual(steps.children![0].range.start, { line: 4, character: 4 });
    assert.deepEqual(
      symbols.find((s) => s.name === 'workloads')!.children!.map((c) => c.name),
      ['fit'],
    );
    assert.deepEqual(
      symbols.find((s) => s.name === 'mounts')!.children!.map((c) => c.name),
      ['./data → /data'],
    );
  });

  it('offers code lenses: Build, Build and lock or Verify, Run per workload', async () => {
    await open('strata.yaml', SPEC);
    const uri = ws.uri('strata.yaml');
    const lenses = async () =>
      (await server.connection.sendRequest(CodeLensRequest.type, { textDocument: { uri } }))!.map((l) => [
        l.command!.title,
        l.command!.command,
        l.range.start.line,
      ]);
    assert.deepEqual(await lenses(), [
      ['Build', 'strata.build', 0],
      ['Build and lock', 'strata.lock', 0],
      ['Run fit', 'strata.runWorkload', 9],
    ]);
    // The lock appears (a build wrote it): the watcher tells the server, lenses and diagnostics follow.
    ws.lockFor(SPEC);
    const republished = server.nextDiagnostics(uri);
    await server.connection.sendNotification(DidChangeWatchedFilesNotification.type, {
      changes: [{ uri: ws.uri('strata.lock'), type: FileChangeType.Created }],
    });
    assert.deepEqual((await republished).diagnostics, []);
    assert.deepEqual((await lenses())[1], ['Verify', 'strata.verify', 0]);
  });

  it('offers quick fixes: rename an unknown key, add a missing field, build and lock, pin the digest', async () => {
    const uri = ws.uri('strata.yaml');
    const text = SPEC.replace('command:', 'comand:').replace('strata: 1\n', '');
    const diagnostics = await open('strata.yaml', text);
    const actions = async (line: number, from: number, to: number, diags: Diagnostic[]) =>
      (await server.connection.sendRequest(CodeActionRequest.type, {
        textDocument: { uri },
        range: { start: { line, character: from }, end: { line, character: to } },
        context: { diagnostics: diags },
      })) as CodeAction[];
    const rename = (await actions(9, 5, 5, diagnostics)).find(
      (a) => a.title === "Rename 'comand' to 'command'",
    )!;
    assert.equal(rename.kind, 'quickfix');
    assert.equal(rename.isPreferred, true);
    assert.deepEqual(rename.edit!.changes![uri], [
      { range: { start: { line: 9, character: 4 }, end: { line: 9, character: 10 } }, newText: 'command' },
    ]);
    const add = (await actions(0, 0, 0, diagnostics)).find((a) => a.title === "Add 'strata: 1'")!;
    assert.deepEqual(add.edit!.changes![uri][0].newText, 'strata: 1\n');
    // With a valid spec and no lock: "Build and lock" runs strata.build.
    const fixed = SPEC;
    const published = server.nextDiagnostics(uri, 2);
    server.change(uri, 2, [{ text: fixed }]);
    const d2 = (await published).diagnostics;
    const build = (await actions(2, 0, 5, d2)).find((a) => a.title === 'Build and lock')!;
    assert.deepEqual(build.command, { title: 'Build and lock', command: 'strata.build', arguments: [uri] });
    // With a lock: pin from: to the locked digest.
    ws.lockFor(SPEC);
    const again = server.nextDiagnostics(uri);
    await server.connection.sendNotification(DidChangeWatchedFilesNotification.type, {
      changes: [{ uri: ws.uri('strata.lock'), type: FileChangeType.Changed }],
    });
    await again;
    const pin = (await actions(2, 8, 8, [])).find((a) => a.title.startsWith('Pin to the locked digest'))!;
    assert.equal(pin.edit!.changes![uri][0].newText, `docker.io/library/debian:bookworm-slim@${BASE_DIGEST}`);
  });

  it('goes to the definition of copy and mount sources', async () => {
    await open('strata.yaml', SPEC);
    const uri = ws.uri('strata.yaml');
    const def = async (line: number, character: number) =>
      (await server.connection.sendRequest(DefinitionRequest.type, {
        textDocument: { uri },
        position: { line, character },
      })) as LocationLink[] | null;
    const copy = await def(5, 20);
    assert.equal(copy![0].targetUri, ws.uri('src'));
    assert.deepEqual(copy![0].originSelectionRange, {
      start: { line: 5, character: 17 },
      end: { line: 5, character: 22 },
    });
    assert.equal((await def(7, 13))![0].targetUri, ws.uri('data'));
    assert.equal(await def(2, 10), null);
  });

  it('warns on the fields that changed since the lock, and tells the status', async () => {
    ws.lockFor(SPEC);
    const uri = ws.uri('strata.yaml');
    const changed = SPEC.replace('bookworm-slim', 'bookworm').replace('python3-numpy', 'python3-scipy');
    const diagnostics = await open('strata.yaml', changed);
    assert.deepEqual(
      diagnostics.map((d) => [d.code, d.range.start.line, d.severity]),
      [
        ['lock-stale', 2, 2],
        ['lock-stale', 4, 2],
      ],
    );
    assert.match(diagnostics[0].message, /'from' changed since strata.lock was written/);
    assert.match(diagnostics[1].message, /step 1 changed \(the lock has apt: python3-numpy\)/);
    const status = await server.notification<StatusParams>(StatusNotification.method, (p) => p.uri === uri);
    assert.equal(status.state, 'stale');
    assert.equal(status.detail, 'strata.lock does not match the spec');
    assert.match(status.imageDigest ?? '', /^sha256:/);
    const info = await server.connection.sendRequest(EnvironmentInfoRequest.type, { uri });
    assert.equal(info.state, 'stale');
    assert.deepEqual(info.workloads, ['fit']);
    assert.equal(info.layers.length, 3);
    assert.equal(info.layers[1].step, 'apt: python3-numpy');
  });

  it('validates strata.lock itself against its schema', async () => {
    ws.lockFor(SPEC);
    const text = fs
      .readFileSync(path.join(ws.dir, 'strata.lock'), 'utf8')
      .replace(/size: 1004/, 'size: big')
      .replace('epoch:', 'epoc:');
    const diagnostics = await open('strata.lock', text);
    assert.deepEqual(codes(diagnostics), ['missing-key', 'schema-type', 'unknown-key'].sort());
    assert.ok(diagnostics.some((d) => /did you mean 'epoch'/.test(d.message)));
  });

  it('answers environmentInfo for a spec that is not open', async () => {
    ws.file('strata.yaml', SPEC);
    const info = await server.connection.sendRequest(EnvironmentInfoRequest.type, {
      uri: ws.uri('strata.yaml'),
    });
    assert.deepEqual(info, {
      uri: ws.uri('strata.yaml'),
      state: 'not-built',
      layers: [],
      workloads: ['fit'],
      name: 'demo',
      lockState: 'none',
      runs: [],
    });
  });

  it('refuses build commands in an untrusted workspace, and bad arguments', async () => {
    const untrusted = await startServer(process.execPath, [serverBundle, '--stdio'], {
      initializationOptions: { trusted: false },
    });
    try {
      await assert.rejects(
        untrusted.connection.sendRequest(ExecuteCommandRequest.type, {
          command: 'strata.build',
          arguments: [ws.uri('strata.yaml')],
        }),
        /untrusted workspace/,
      );
    } finally {
      await untrusted.stop();
    }
    await assert.rejects(
      server.connection.sendRequest(ExecuteCommandRequest.type, { command: 'strata.build', arguments: [] }),
      /file: URI/,
    );
  });

  it('survives garbage without crashing', async () => {
    for (const text of [
      '',
      '\u0000\u0001',
      '{[',
      'a: !!binary x',
      '- - - -',
      '&a [*a]',
      'strata: 1\n'.repeat(500),
    ]) {
      const uri = ws.uri(`g${text.length}.strata.yaml`);
      const published = server.nextDiagnostics(uri);
      server.open(uri, text);
      await published;
      await server.connection.sendRequest(CompletionRequest.type, {
        textDocument: { uri },
        position: { line: 0, character: 1 },
      });
      await server.connection.sendRequest(HoverRequest.type, {
        textDocument: { uri },
        position: { line: 0, character: 0 },
      });
    }
    assert.equal(server.child.exitCode, null, server.stderr());
  });
});
