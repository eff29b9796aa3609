// Contracts with the other parts: the JSON schemas against the validator, the lock format the
// build engine writes against the lock schema and the editor's staleness check, and the command
// names against protocol.ts.
import * as assert from 'node:assert/strict';
import { lockStaleness } from '../../../server/src/engine/lock/stale';
import { formatLock } from '../../../server/src/engine/lock/format';
import { LOCK_VERSION, type Lock } from '../../../server/src/engine/lock/types';
import { specFields } from '../../../server/src/engine/build/canonical';
import { Commands as ProtocolCommands } from '../../../server/src/protocol';
import { Commands } from '../../../server/src/lsp/commands';
import { compareWithLock, LOCK_SCHEMA, parseLockText } from '../../../server/src/lsp/lock';
import {
  COPY_KEYS,
  MOUNT_KEYS,
  RESOURCE_KEYS,
  STEP_KINDS,
  STEP_OPTIONS,
  TOP_LEVEL_KEYS,
  WORKLOAD_KEYS,
  parseSpec,
  specDigest,
  specFieldDigests,
  stepDigest,
} from '../../../server/src/lsp/spec';
import { checkAgainstSchema, schemaAt, type JsonSchema } from '../../../server/src/lsp/schemaCheck';
import { SPEC_SCHEMA } from '../../../server/src/lsp/specSchema';
import { parseYaml } from '../../../server/src/lsp/yamlSource';
import { minimal, yaml } from './builders';

function keysAt(path: (string | number)[]): string[] {
  const s = schemaAt(SPEC_SCHEMA, path)!;
  const options = (s.anyOf ?? s.oneOf ?? [s]).map((o) =>
    o.$ref ? SPEC_SCHEMA.definitions![o.$ref.split('/').pop()!] : o,
  );
  return [...new Set(options.flatMap((o) => Object.keys(o.properties ?? {})))].sort();
}

/** Validates a spec against the JSON schema (what yaml-language-server and others would say). */
function schemaProblems(text: string): string[] {
  const parsed = parseYaml(text);
  const ctx = { text, lines: parsed.lines, diagnostics: [] as { message: string }[] };
  checkAgainstSchema(ctx as never, SPEC_SCHEMA, SPEC_SCHEMA, parsed.doc.contents, '', [0, 0]);
  return ctx.diagnostics.map((d) => d.message);
}

const FULL = yaml(
  'strata: 1',
  'name: seismic-inversion',
  'from: docker.io/library/debian:bookworm-slim',
  'platform: linux/amd64',
  'env: { OMP_NUM_THREADS: "4" }',
  'workdir: /job',
  'user: "1000:1000"',
  'entrypoint: [/usr/bin/tini, --]',
  'cmd: python3',
  'labels: { org.opencontainers.image.source: "https://example.org/x" }',
  'steps:',
  '  - apt: [python3-numpy, python3-scipy]',
  '  - pip: [obspy==1.4.1]',
  '    index-url: https://pypi.org/simple',
  '  - copy: { src: ./src, dest: /opt/inv }',
  '  - run: make -C /opt/inv',
  '    network: none',
  'mounts:',
  '  - { src: ./data, dest: /data, readonly: true }',
  '  - ./results:/job/results',
  'workloads:',
  '  invert:',
  '    command: [invert, --config, /job/config.toml]',
  '    env: { }',
  '    resources: { cpus: 2, memory: 4GiB, pids: 256 }',
  '    network: none',
  '    outputs: [results/]',
  '    workdir: /job',
);

describe('lsp/contracts: schemas and the validator agree', () => {
  it('the schema lists exactly the keys the validator knows', () => {
    assert.deepEqual(Object.keys(SPEC_SCHEMA.properties!).sort(), [...TOP_LEVEL_KEYS].sort());
    assert.deepEqual(
      keysAt(['steps', 0]),
      [...new Set([...STEP_KINDS, ...Object.values(STEP_OPTIONS).flat()])].sort(),
    );
    assert.deepEqual(keysAt(['steps', 0, 'copy']), [...COPY_KEYS].sort());
    assert.deepEqual(keysAt(['mounts', 0]), [...MOUNT_KEYS].sort());
    assert.deepEqual(keysAt(['workloads', 'any']), [...WORKLOAD_KEYS].sort());
    assert.deepEqual(keysAt(['workloads', 'any', 'resources']), [...RESOURCE_KEYS].sort());
  });

  it('every property in both schemas has a description and examples or an enum', () => {
    const walk = (root: JsonSchema, s: JsonSchema, where: string): void => {
      for (const [k, p] of Object.entries(s.properties ?? {})) {
        const full = p as JsonSchema & { examples?: unknown[] };
        assert.ok(full.description, `${where}.${k} has no description`);
        assert.ok(
          full.examples || full.enum || full.const !== undefined || full.$ref,
          `${where}.${k} has no examples`,
        );
        walk(root, full, `${where}.${k}`);
        if (full.items) walk(root, full.items, `${where}.${k}[]`);
      }
      for (const [k, d] of Object.entries(s.definitions ?? {})) walk(root, d, `#${k}`);
    };
    walk(SPEC_SCHEMA, SPEC_SCHEMA, 'strata.yaml');
    walk(LOCK_SCHEMA, LOCK_SCHEMA, 'strata.lock');
  });

  it('a spec the validator accepts, the schema accepts too', () => {
    assert.deepEqual(parseSpec(FULL).diagnostics, []);
    assert.deepEqual(schemaProblems(FULL), []);
    assert.deepEqual(schemaProblems(minimal()), []);
  });

  it('mistakes the validator rejects, the schema rejects too', () => {
    for (const bad of [
      minimal('stepz: []'),
      minimal('steps: [{ apt: [x], pip: [y] }]'.replace('apt: [x], ', 'apk: [x], ')),
      minimal('workloads: { a: { comand: [x] } }'),
      minimal('workloads: { a: { command: [x], network: hots } }'),
      minimal('mounts: [{ src: ./a, dest: data }]'),
      minimal('workloads: { a: { command: [x], resources: { memory: 4 gigs } } }'),
      yaml('strata: 2', 'name: a', 'from: debian:12'),
      yaml('name: a', 'from: debian:12'),
    ]) {
      assert.ok(
        parseSpec(bad).diagnostics.some((d) => d.severity === 'error'),
        bad,
      );
      assert.ok(schemaProblems(bad).length > 0, `the schema accepts:\n${bad}`);
    }
  });

  it('command names match protocol.ts', () => {
    for (const k of ['build', 'rebuild', 'verify', 'lock'] as const)
      assert.equal(Commands[k], ProtocolCommands[k]);
  });
});

function engineLock(specText: string): Lock {
  const { spec } = parseSpec(specText);
  assert.ok(spec);
  const d = (c: string) => `sha256:${c.repeat(64)}`;
  return {
    lockVersion: LOCK_VERSION,
    spec: { digest: specDigest(spec), fields: specFields(spec) },
    platform: 'linux/amd64',
    epoch: 1700000000,
    base: { ref: spec.from, digest: d('a'), layers: [{ digest: d('b'), diffId: d('c'), size: 123 }] },
    steps: spec.steps.map((s) => ({
      step: s.kind,
      definition: stepDigest(s),
      key: d('d'),
      layer: { digest: d('e'), diffId: d('f'), size: 456 },
      ...(s.kind === 'apt' ? { apt: [{ name: 'python3-numpy', version: '1:1.24.2-1' }] } : {}),
      ...(s.kind === 'pip' ? { pip: [{ name: 'obspy', version: '1.4.1', sha256: 'a'.repeat(64) }] } : {}),
    })),
    image: { config: d('1'), manifest: d('2') },
  };
}

describe('lsp/contracts: strata.lock as the engine writes it', () => {
  it("the engine's field digests are the editor's", () => {
    const { spec } = parseSpec(FULL);
    assert.deepEqual(specFieldDigests(spec!), specFields(spec!));
  });

  it('what formatLock writes validates against the lock schema and is current for its spec', () => {
    const text = formatLock(engineLock(FULL));
    const r = parseLockText(text);
    assert.deepEqual(r.diagnostics, []);
    assert.ok(r.lock);
    const { spec } = parseSpec(FULL);
    const parsed = parseYaml(FULL);
    const c = compareWithLock(spec!, parsed, 'file:///w/strata.yaml', { kind: 'present', lock: r.lock });
    assert.equal(c.state, 'current');
    assert.deepEqual(c.diagnostics, []);
  });

  it('names the same changed fields as the engine does when the lock is stale', () => {
    const lock = engineLock(FULL);
    const lockView = parseLockText(formatLock(lock)).lock!;
    const edited = FULL.replace('OMP_NUM_THREADS: "4"', 'OMP_NUM_THREADS: "8"')
      .replace('python3-scipy', 'python3-pandas')
      .replace('workdir: /job\nuser', 'workdir: /work\nuser');
    const { spec } = parseSpec(edited);
    const c = compareWithLock(spec!, parseYaml(edited), 'file:///w/strata.yaml', {
      kind: 'present',
      lock: lockView,
    });
    assert.equal(c.state, 'stale');
    assert.deepEqual(c.changed, ['env', 'workdir', 'step 1']);
    const lines = c.diagnostics.map((d) => d.range.start.line + 1);
    assert.deepEqual(lines, [5, 6, 12]);
    // The engine (engine/lock/stale.ts) sees the same top-level fields change.
    const engine = lockStaleness({ source: spec!, steps: [] } as never, lock);
    assert.equal(engine.stale, true);
    for (const f of ['env', 'workdir']) assert.ok(engine.changed.includes(f), engine.changed.join(', '));
  });

  it('editing a workload or a mount leaves the lock current (they are not in the image)', () => {
    const lockView = parseLockText(formatLock(engineLock(FULL))).lock!;
    const edited = FULL.replace('cpus: 2', 'cpus: 4').replace('readonly: true', 'readonly: false');
    const { spec } = parseSpec(edited);
    assert.equal(
      compareWithLock(spec!, parseYaml(edited), 'u', { kind: 'present', lock: lockView }).state,
      'current',
    );
  });

  it('says there is no lock yet, with the build-and-lock fix', () => {
    const { spec } = parseSpec(minimal());
    const c = compareWithLock(spec!, parseYaml(minimal()), 'file:///w/strata.yaml', { kind: 'missing' });
    assert.equal(c.diagnostics[0].severity, 'information');
    assert.deepEqual(c.diagnostics[0].fixes?.[0].command, {
      command: 'strata.build',
      arguments: ['file:///w/strata.yaml'],
    });
  });

  it('reports an edited lock with positions and the advice to rebuild', () => {
    const text = formatLock(engineLock(FULL))
      .replace('lockVersion: 1', 'lockVersion: 2')
      .replace(/size: 456/, 'size: -1');
    const r = parseLockText(text);
    assert.equal(r.lock, undefined);
    const shown = r.diagnostics.map((d) => `${d.range.start.line + 1} ${d.code}`);
    assert.deepEqual(shown, [
      '3 schema-value',
      `${text.split('\n').findIndex((l) => l.includes('size: -1')) + 1} schema-range`,
    ]);
    assert.match(r.diagnostics[0].message, /rebuild rather than edit/);
  });
});

describe('lsp/contracts: x- annotations', () => {
  it('are accepted at every level by both the validator and the schema', () => {
    const text = minimal(
      'x-owner: lab',
      'steps: [{ run: make, x-why: build }, { copy: { src: ./s, dest: /s, x-note: n } }]',
      'mounts: [{ src: ./d, dest: /d, x-note: n }]',
      'workloads: { a: { command: [x], x-note: n, resources: { cpus: 1, x-note: n } } }',
    );
    assert.deepEqual(parseSpec(text).diagnostics, []);
    assert.deepEqual(schemaProblems(text), []);
  });
});
