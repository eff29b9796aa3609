// Completion, hover, symbols, lenses, actions and definition from the pure language service,
// with the cursor written as | in the text.
import * as assert from 'node:assert/strict';
import { complete } from '../../../server/src/lsp/complete';
import { SpecLanguageService } from '../../../server/src/lsp/service';
import { LineIndex } from '../../../server/src/lsp/text';
import { minimal, yaml } from './builders';

const packages = {
  packageNames: (k: 'apt' | 'pip') => (k === 'apt' ? ['python3-numpy', 'python3-scipy', 'make'] : ['numpy']),
};

/** Labels offered at the | in `text`. */
function labels(text: string): string[] {
  const at = text.indexOf('|');
  return complete(new LineIndex(text.replace('|', '')), at, packages).map((c) => c.label);
}

function service(files: Record<string, string> = {}) {
  return new SpecLanguageService({ exists: (p) => p in files, readFile: (p) => files[p] });
}

function cursor(text: string): { text: string; offset: number } {
  return { text: text.replace('|', ''), offset: text.indexOf('|') };
}

describe('lsp/features: completion', () => {
  it('offers the top-level keys not yet written', () => {
    assert.deepEqual(labels('strata: 1\nname: x\n|'), [
      'from',
      'platform',
      'env',
      'workdir',
      'user',
      'entrypoint',
      'cmd',
      'labels',
      'steps',
      'mounts',
      'workloads',
    ]);
  });
  it('offers step kinds as snippets in a new list item, and options of the kind once chosen', () => {
    assert.deepEqual(labels('strata: 1\nsteps:\n  - |'), ['apt', 'pip', 'copy', 'run']);
    assert.deepEqual(labels('steps:\n  - run: make\n    |'), ['network']);
    assert.deepEqual(labels('steps:\n  - pip: [numpy]\n    |'), ['index-url']);
  });
  it('offers package names in flow and block lists, filtered by what is typed', () => {
    assert.deepEqual(labels('steps:\n  - apt: [make, python3-|'), ['python3-numpy', 'python3-scipy']);
    assert.deepEqual(labels('steps:\n  - apt:\n      - sci|'), ['python3-scipy']);
    assert.deepEqual(labels('steps:\n  - pip: [|'), ['numpy']);
  });
  it('offers enum values, booleans and examples', () => {
    assert.deepEqual(labels('workloads:\n  a:\n    network: |'), ['none', 'host']);
    assert.deepEqual(labels('mounts:\n  - { src: ./a, dest: /a, readonly: |'), ['true', 'false']);
    assert.deepEqual(labels('workloads:\n  a:\n    resources:\n      memory: |'), ['4GiB', '512MiB', '16G']);
    assert.deepEqual(labels('workloads:\n  a:\n    resources: { cpus: 2, |'), ['memory', 'pids']);
  });
  it('offers base images for from:', () => {
    const got = labels('from: ubu|');
    assert.deepEqual(got, [
      'docker.io/library/ubuntu:24.04',
      'docker.io/library/ubuntu:22.04',
      'docker.io/nvidia/cuda:12.4.1-runtime-ubuntu22.04',
    ]);
  });
  it('offers nothing inside comments', () => {
    assert.deepEqual(labels('strata: 1 # na|'), []);
  });
  it('replaces the word typed so far', () => {
    const c = complete(new LineIndex('strata: 1\nwor'), 13);
    assert.deepEqual(c.find((x) => x.label === 'workloads')?.replace, [10, 13]);
  });
});

describe('lsp/features: hover, symbols, lenses, actions, definition', () => {
  const text = minimal(
    'steps:',
    '  - copy: { src: ./src, dest: /opt }',
    'workloads:',
    '  fit: { command: [fit], network: none }',
  );
  const files = { '/w/src': '' };

  it('hovers with the schema description of keys and values', () => {
    const s = service(files);
    s.open('u', '/w/strata.yaml', text, 1);
    const h = s.hover('u', text.indexOf('network') + 2)!;
    assert.match(h.contents, /^\*\*workloads\.fit\.network\*\*: Network for this workload/);
    assert.equal(text.slice(h.span[0], h.span[1]), 'network');
    assert.match(s.hover('u', text.indexOf('bookworm'))!.contents, /Not locked yet/);
  });

  it('hovers over a package with the version strata.lock recorded', () => {
    const spec = minimal('steps:', '  - apt: [python3-numpy]', '  - pip: [Obspy==1.4.1]');
    const lock = [
      'lockVersion: 1',
      `spec: { digest: sha256:${'a'.repeat(64)}, fields: {} }`,
      'platform: linux/amd64',
      'epoch: 0',
      `base: { ref: x, digest: sha256:${'b'.repeat(64)}, layers: [] }`,
      'steps:',
      `  - { step: a, definition: sha256:${'c'.repeat(64)}, key: sha256:${'c'.repeat(64)}, layer: { digest: sha256:${'d'.repeat(64)}, diffId: sha256:${'d'.repeat(64)}, size: 1 }, apt: [{ name: python3-numpy, version: "1:1.24.2-1" }] }`,
      `  - { step: b, definition: sha256:${'c'.repeat(64)}, key: sha256:${'c'.repeat(64)}, layer: { digest: sha256:${'d'.repeat(64)}, diffId: sha256:${'d'.repeat(64)}, size: 1 }, pip: [{ name: obspy, version: 1.4.1, sha256: ${'e'.repeat(64)} }] }`,
      `image: { config: sha256:${'f'.repeat(64)}, manifest: sha256:${'f'.repeat(64)} }`,
      '',
    ].join('\n');
    const s = service({ '/w/strata.lock': lock });
    s.open('u', '/w/strata.yaml', spec, 1);
    assert.match(
      s.hover('u', spec.indexOf('numpy'))!.contents,
      /\*\*Locked\*\*: `python3-numpy` 1:1\.24\.2-1$/,
    );
    assert.match(
      s.hover('u', spec.indexOf('Obspy'))!.contents,
      /\*\*Locked\*\*: `obspy` 1\.4\.1, sha256 `eeeeeeeeeeee…`$/,
    );
  });

  it('outlines steps and workloads', () => {
    const s = service(files);
    s.open('u', '/w/strata.yaml', text, 1);
    const sym = s.symbols('u');
    assert.deepEqual(
      sym.map((x) => x.name),
      ['strata', 'name', 'from', 'steps', 'workloads'],
    );
    assert.deepEqual(
      sym[3].children!.map((c) => c.name),
      ['1. copy: ./src → /opt'],
    );
    assert.deepEqual(
      sym[4].children!.map((c) => [c.name, c.detail]),
      [['fit', 'fit']],
    );
  });

  it('gives Build and Run lenses only for a valid spec', () => {
    const s = service(files);
    s.open('u', '/w/strata.yaml', text, 1);
    assert.deepEqual(
      s.lenses('u').map((l) => l.title),
      ['Build', 'Build and lock', 'Run fit'],
    );
    s.open('u', '/w/strata.yaml', text.replace('strata: 1', 'strata: 3'), 2);
    assert.deepEqual(s.lenses('u'), []);
  });

  it('offers the fixes of the diagnostics under the cursor', () => {
    const s = service(files);
    const { text: t, offset } = cursor(
      yaml('strata: 1', 'name: a', 'from: debian:12', 'workloads:', '  fit: { comm|and: [x], netwrk: none }'),
    );
    s.open('u', '/w/strata.yaml', t.replace('command', 'comand'), 1);
    const titles = s.actions('u', offset - 1, offset - 1).map((a) => a.title);
    assert.deepEqual(titles, ["Rename 'comand' to 'command'"]);
  });

  it('resolves copy and mount sources against the spec folder', () => {
    const s = service(files);
    s.open('u', '/w/strata.yaml', text, 1);
    assert.equal(s.definition('u', text.indexOf('./src') + 1)?.path, '/w/src');
    assert.equal(s.definition('u', text.indexOf('/opt') + 1), undefined);
  });

  it('shows a build failure on the failing step until cleared', () => {
    const s = service(files);
    s.open('u', '/w/strata.yaml', text, 1);
    s.setBuildFailure('u', { step: 0, message: 'build failed: copy: no space left on device' });
    const d = s.diagnostics('u').find((x) => x.code === 'build-failed')!;
    assert.equal(d.range.start.line, 4);
    s.setBuildFailure('u', undefined);
    assert.equal(
      s.diagnostics('u').some((x) => x.code === 'build-failed'),
      false,
    );
  });

  it('checks no sources and reads no lock for a document that is not a file (untitled:)', () => {
    const s = service({});
    s.open('untitled:Untitled-1', 'untitled:Untitled-1', text, 1);
    assert.deepEqual(
      s.diagnostics('untitled:Untitled-1').map((d) => d.code),
      ['no-lock'],
    );
    assert.equal(s.definition('untitled:Untitled-1', text.indexOf('./src') + 1), undefined);
  });

  it('reads the lock beside the spec and forgets it when told it changed', () => {
    const files2: Record<string, string> = { '/w/src': '' };
    const s = service(files2);
    s.open('u', '/w/strata.yaml', text, 1);
    assert.equal(s.lockStatus('u'), 'none');
    files2['/w/strata.lock'] = 'lockVersion: 1\n';
    assert.equal(s.lockStatus('u'), 'none', 'cached until lockChanged');
    s.lockChanged('/w/strata.lock');
    assert.equal(s.lockStatus('u'), 'invalid');
    assert.match(
      s.diagnostics('u').find((d) => d.code === 'bad-lock')!.message,
      /strata.lock cannot be read \(line 1: the file is missing 'spec'/,
    );
  });
});
