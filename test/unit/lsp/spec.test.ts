// The spec parser and validator: the typed model it gives the engine, and its diagnostics.
import * as assert from 'node:assert/strict';
import {
  canonicalSpec,
  formatDiagnostic,
  parseSpec,
  specDigest,
  stepDigest,
} from '../../../server/src/lsp/spec';
import { check, minimal, yaml } from './builders';

describe('lsp/spec: parseSpec model', () => {
  it('reads the DESIGN.md example into the typed model with ranges', () => {
    const text = yaml(
      'strata: 1',
      'name: seismic-inversion',
      'from: docker.io/library/debian:bookworm-slim',
      'platform: linux/amd64',
      'env: { OMP_NUM_THREADS: "4" }',
      'workdir: /job',
      'steps:',
      '  - apt: [python3-numpy, python3-scipy]',
      '  - pip: [obspy==1.4.1]',
      '    index-url: https://pypi.org/simple',
      '  - copy: { src: ./src, dest: /opt/inv }',
      '  - run: make -C /opt/inv',
      '    network: none',
      'mounts:',
      '  - { src: ./data, dest: /data, readonly: true }',
      'workloads:',
      '  invert:',
      '    command: [invert, --config, /job/config.toml]',
      '    env: { }',
      '    resources: { cpus: 2, memory: 4GiB, pids: 256 }',
      '    network: none',
      '    outputs: [results/]',
    );
    const { spec, diagnostics } = parseSpec(text, { file: '/w/strata.yaml', exists: () => true });
    assert.deepEqual(diagnostics, []);
    assert.ok(spec);
    assert.equal(spec.name, 'seismic-inversion');
    assert.equal(spec.platform, 'linux/amd64');
    assert.deepEqual(spec.env, { OMP_NUM_THREADS: '4' });
    assert.deepEqual(
      spec.steps.map((s) => s.kind),
      ['apt', 'pip', 'copy', 'run'],
    );
    const [apt, pip, copy, run] = spec.steps;
    assert.deepEqual(apt.kind === 'apt' && apt.packages, ['python3-numpy', 'python3-scipy']);
    assert.equal(pip.kind === 'pip' && pip.indexUrl, 'https://pypi.org/simple');
    assert.deepEqual(copy.kind === 'copy' && [copy.src, copy.dest], ['./src', '/opt/inv']);
    assert.deepEqual(run.kind === 'run' && [run.command, run.network], ['make -C /opt/inv', 'none']);
    // 0-based line/character and offsets of the list item.
    assert.deepEqual([apt.range.start.line, apt.range.start.character], [7, 4]);
    assert.equal(
      text.slice(run.range.start.offset, run.range.end.offset),
      'run: make -C /opt/inv\n    network: none',
    );

    assert.deepEqual(
      spec.mounts.map(({ range: _r, ...m }) => m),
      [{ src: './data', dest: '/data', readonly: true }],
    );
    const w = spec.workloads.invert;
    assert.deepEqual(w.command, ['invert', '--config', '/job/config.toml']);
    assert.deepEqual(w.resources, { cpus: 2, memory: 4 * 1024 ** 3, pids: 256 });
    assert.equal(w.network, 'none');
    assert.deepEqual(w.outputs, ['results/']);
    assert.equal(w.range.start.line, 16);
    // Ranges end before the trailing line break.
    assert.ok(text.slice(w.range.start.offset, w.range.end.offset).endsWith('outputs: [results/]'));
  });

  it('fills the defaults: run steps use the host network, workloads none, mounts read-write', () => {
    const { spec } = parseSpec(
      minimal('steps: [{ run: make }]', 'mounts: ["./d:/d"]', 'workloads: { a: { command: "echo hi" } }'),
    );
    assert.ok(spec);
    assert.equal(spec.steps[0].kind === 'run' && spec.steps[0].network, 'host');
    assert.equal(spec.workloads.a.network, 'none');
    assert.deepEqual(spec.workloads.a.command, ['/bin/sh', '-c', 'echo hi']);
    assert.equal(spec.mounts[0].readonly, false);
  });

  it('keeps numbers in text fields as written (env values, command words)', () => {
    const { spec } = parseSpec(
      minimal('env: { N: 4, V: 1.10 }', 'workloads: { s: { command: [sleep, 10] } }'),
    );
    assert.ok(spec);
    assert.deepEqual(spec.env, { N: '4', V: '1.10' });
    assert.deepEqual(spec.workloads.s.command, ['sleep', '10']);
  });

  it('gives no model when there is an error, but keeps the warnings-only model', () => {
    assert.equal(parseSpec(minimal('steps: [{ apt: [BAD name] }]')).spec, undefined);
    const warned = parseSpec(yaml('strata: 1', 'name: a', 'from: debian'));
    assert.ok(warned.spec);
    assert.equal(warned.diagnostics[0].code, 'floating-tag');
  });

  it('formats diagnostics as file:line:col: severity: message (1-based)', () => {
    const { diagnostics } = parseSpec(yaml('strata: 1', 'name: a', 'from: debian:12', 'stepz: []'));
    assert.equal(
      formatDiagnostic('strata.yaml', diagnostics[0]),
      "strata.yaml:4:1: error: unknown key 'stepz' in the spec; did you mean 'steps'?",
    );
  });

  it('digests the meaning of a spec, not its layout or comments', () => {
    const a = parseSpec(minimal('steps:', '  - apt: [make]   # build tools', 'env: {B: "2", A: "1"}')).spec!;
    const b = parseSpec(
      yaml(
        '# the same, reordered',
        'from: docker.io/library/debian:bookworm-slim',
        'env: {A: "1", B: "2"}',
        'name: demo',
        'strata: 1',
        'steps: [{apt: [make]}]',
      ),
    ).spec!;
    assert.equal(specDigest(a), specDigest(b));
    assert.equal(stepDigest(a.steps[0]), stepDigest(b.steps[0]));
    assert.match(specDigest(a), /^sha256:[0-9a-f]{64}$/);
    const c = parseSpec(minimal('steps: [{apt: [make, gcc]}]', 'env: {A: "1", B: "2"}')).spec!;
    assert.notEqual(specDigest(a), specDigest(c));
    assert.notEqual(stepDigest(a.steps[0]), stepDigest(c.steps[0]));
    assert.equal(JSON.stringify(canonicalSpec(a)).includes('range'), false);
  });
});

describe('lsp/spec: diagnostics', () => {
  it('reports several YAML syntax errors at once, with positions', () => {
    check(
      yaml(
        'strata: 1',
        'name: demo',
        'from: debian:12',
        'steps:',
        '  - apt: [make',
        '  - run: make',
        'workloads:',
        '  a:',
        '   command: [x]',
        '    env: {}',
      ),
      [
        { code: 'yaml-syntax', at: '6:3', message: /end with a \]/ },
        { code: 'yaml-syntax', at: '10:1', message: /same column/ },
      ],
    );
    check(yaml('strata: 1', 'name: "demo', 'from: debian:12'), [
      { code: 'missing-key', at: '1:1' },
      { code: 'yaml-syntax', at: '2:7', to: '2:8', message: /quote is never closed/ },
    ]);
    check(minimal('steps:', '\t- apt: [make]'), [{ code: 'yaml-syntax', at: '5:1', message: /spaces/ }]);
  });

  it('requires strata, name and from, each with a fix that inserts it', () => {
    const r = parseSpec(yaml('steps: []'), { file: '/home/u/My Project/strata.yaml' });
    const codes = r.diagnostics.map((d) => d.code);
    assert.deepEqual(codes, ['missing-key', 'missing-key', 'missing-key']);
    const edits = r.diagnostics.map((d) => d.fixes?.[0].edits?.[0].newText);
    assert.deepEqual(edits, [
      'strata: 1\n',
      'name: my-project\n',
      'from: docker.io/library/debian:bookworm-slim\n',
    ]);
  });

  it('reports a typo of a required key once, as an unknown key with the rename', () => {
    check(yaml('strata: 1', 'name: a', 'form: debian:12'), [
      { code: 'unknown-key', at: '3:1', to: '3:5', message: /did you mean 'from'/ },
    ]);
  });

  it('rejects other format versions', () => {
    check(yaml('strata: 2', 'name: a', 'from: debian:12'), [
      { code: 'bad-version', at: '1:9', message: /newer Strata/ },
    ]);
    check(yaml('strata: one', 'name: a', 'from: debian:12'), [{ code: 'bad-version', at: '1:9' }]);
  });

  it('checks image refs with the exact part at fault', () => {
    check(yaml('strata: 1', 'name: a', 'from: docker.io/Library/debian:12'), [
      { code: 'bad-ref', at: '3:17', to: '3:24', message: /lowercase/ },
    ]);
    check(yaml('strata: 1', 'name: a', 'from: debian@sha256:abc'), [{ code: 'bad-ref', message: /64/ }]);
    check(yaml('strata: 1', 'name: a', 'from: debian:latest'), [
      { code: 'floating-tag', severity: 'warning', message: /lock pins/ },
    ]);
    check(yaml('strata: 1', 'name: a', `from: debian@sha256:${'a'.repeat(64)}`), []);
    check(yaml('strata: 1', 'name: a', 'from: scratch'), []);
  });

  it('after from: scratch, accepts a run step once an earlier copy could have provided a shell', () => {
    const opts = { file: '/w/strata.yaml', exists: () => true };
    const { spec } = check(
      yaml(
        'strata: 1',
        'name: a',
        'from: scratch',
        'steps:',
        '  - copy: { src: ./rootfs, dest: / }',
        '  - run: /bin/sh -c true',
      ),
      [],
      opts,
    );
    assert.deepEqual(
      spec?.steps.map((s) => s.kind),
      ['copy', 'run'],
    );
    // No earlier copy: nothing can have provided /bin/sh, so the run step is warned about (only).
    check(
      yaml(
        'strata: 1',
        'name: a',
        'from: scratch',
        'steps:',
        '  - run: true',
        '  - copy: { src: ./x, dest: /x }',
      ),
      [
        {
          code: 'scratch-step',
          severity: 'warning',
          at: '5:5',
          message: /no earlier copy step provides one/,
        },
      ],
      opts,
    );
    // apt needs apt-get as well as a shell: still an error when nothing was copied in first.
    check(yaml('strata: 1', 'name: a', 'from: scratch', 'steps:', '  - apt: [make]'), [
      { code: 'scratch-step', severity: 'error', at: '5:5' },
    ]);
  });

  it('flags duplicate workload names and duplicate keys', () => {
    check(minimal('workloads:', '  a: { command: [x] }', '  a: { command: [y] }'), [
      { code: 'duplicate-key', at: '6:3', message: /'a' appears twice in workloads/ },
    ]);
  });

  it('checks memory, cpus and pids', () => {
    check(
      minimal(
        'workloads:',
        '  a:',
        '    command: [x]',
        '    resources: { cpus: two, memory: 4 GB, pids: 0 }',
      ),
      [
        { code: 'bad-value', at: '7:24', to: '7:27', message: /cpus should be a number/ },
        { code: 'bad-value', at: '7:49', message: /at least 1/ },
      ],
    );
    check(minimal('workloads:', '  a:', '    command: [x]', '    resources: { memory: 4Gb }'), []);
    check(minimal('workloads:', '  a:', '    command: [x]', '    resources: { memory: 4 }'), [
      { code: 'bad-value', message: /too little/ },
    ]);
    check(minimal('workloads:', '  a:', '    command: [x]', '    resources: { memory: 4XB }'), [
      { code: 'bad-value', message: /unknown unit/ },
    ]);
  });

  it('checks copy and mount sources against the spec folder', () => {
    const exists = (p: string) => p === '/w/src';
    check(
      minimal('steps: [{ copy: { src: ./src, dest: /opt } }, { copy: { src: ./gone, dest: /opt } }]'),
      [{ code: 'missing-path', severity: 'error', at: '4:62', to: '4:68', message: /\/w\/gone/ }],
      { file: '/w/strata.yaml', exists },
    );
    check(
      minimal('mounts: [{ src: ./data, dest: /data }]'),
      [{ code: 'missing-path', severity: 'warning' }],
      {
        file: '/w/strata.yaml',
        exists,
      },
    );
    check(minimal('mounts: [{ src: /abs, dest: data }]'), [
      { code: 'bad-path', message: /relative to the spec's folder/ },
      { code: 'bad-path', message: /absolute path inside the container/ },
    ]);
  });

  it('checks environment variable names', () => {
    check(minimal('env: { GOOD_1: a, bad-name: b }'), [
      { code: 'bad-name', at: '4:19', to: '4:27', message: /letters, digits and _/ },
    ]);
  });

  it('checks apt and pip package syntax', () => {
    check(
      minimal(
        'steps:',
        '  - apt: [python3-numpy=1:1.24.2-1, libfoo:amd64, -y, x]',
        '  - pip: ["numpy>=1.2,<2", "pandas[excel]==2.2.0", "a=1"]',
      ),
      [
        { code: 'bad-package', at: '5:51', message: /option/ },
        { code: 'bad-package', at: '5:55', message: /not a Debian package name/ },
        { code: 'bad-package', at: '6:52', message: /==/ },
      ],
    );
  });

  it('gives reproducibility advice with reasons', () => {
    const r = parseSpec(
      minimal(
        'steps:',
        '  - run: |',
        '      apt-get update && apt-get -y dist-upgrade',
        '      curl -sSL https://get.example.org | bash',
        '      pip install torch numpy==1.26.4',
        'workloads:',
        '  fetch: { command: [wget, https://data.example.org/x.csv] }',
      ),
    );
    assert.deepEqual(
      r.diagnostics.map((d) => [
        d.code,
        d.severity,
        `${d.range.start.line + 1}:${d.range.start.character + 1}`,
      ]),
      [
        ['apt-upgrade', 'warning', '6:25'],
        ['unchecked-download', 'warning', '7:7'],
        ['unpinned-pip', 'warning', '8:7'],
        ['network-none', 'warning', '10:22'],
      ],
    );
    assert.match(r.diagnostics[2].message, /torch/);
    assert.doesNotMatch(r.diagnostics[2].message, /numpy/);
    // A checksum in the script silences the download warning.
    check(
      minimal(
        'steps:',
        '  - run: curl -sSLo i.sh https://x.org/i.sh && sha256sum -c i.sha256 && curl -s https://x.org/j | sh',
      ),
      [],
    );
  });

  it('explains a step with two kinds and a step with none', () => {
    check(minimal('steps:', '  - apt: [make]', '    pip: [numpy]', '  - network: none'), [
      { code: 'several-step-kinds', at: '5:5' },
      { code: 'missing-step-kind', at: '7:5' },
    ]);
  });

  it('offers the rename of an unknown key as a preferred fix', () => {
    const r = parseSpec(minimal('workloads:', '  a:', '    comand: [x]'));
    const d = r.diagnostics.find((x) => x.code === 'unknown-key');
    assert.ok(d);
    assert.deepEqual(d.fixes?.[0].edits, [
      { start: d.range.start.offset, end: d.range.end.offset, newText: 'command' },
    ]);
  });

  it("ignores x- keys, the user's own annotations", () => {
    check(minimal('x-owner: lab-42'), []);
  });

  it('never throws on odd documents', () => {
    for (const text of [
      '',
      '---',
      '[]',
      '- a',
      'a',
      '{',
      '!!binary aGVsbG8=',
      '*a',
      '? [a]: b',
      '\u0000',
      'strata: 1\n---\nx: 1\n',
    ]) {
      const r = parseSpec(text);
      assert.ok(Array.isArray(r.diagnostics));
      assert.ok(r.diagnostics.length > 0, `no diagnostic for ${JSON.stringify(text)}`);
    }
  });
});

describe('lsp/spec: quick fixes make the spec valid', () => {
  /** Applies the preferred fix of every diagnostic (edits do not overlap in these cases). */
  function applyFixes(text: string): string {
    const edits = parseSpec(text)
      .diagnostics.flatMap((d) => d.fixes?.find((f) => f.preferred)?.edits ?? [])
      .sort((a, b) => b.start - a.start);
    let out = text;
    for (const e of edits) out = out.slice(0, e.start) + e.newText + out.slice(e.end);
    return out;
  }

  const cases: [string, string][] = [
    [minimal('stepz: []'), minimal('steps: []')],
    [minimal('steps: [{ apt: [Python3-Numpy] }]'), minimal('steps: [{ apt: [python3-numpy] }]')],
    [minimal('steps: [{ pip: [numpy=1.26.4] }]'), minimal('steps: [{ pip: [numpy==1.26.4] }]')],
    [minimal('workdir: job'), minimal('workdir: /job')],
    [
      minimal('mounts: [{ src: ./d, dest: data, readonly: yes }]'),
      minimal('mounts: [{ src: ./d, dest: /data, readonly: true }]'),
    ],
    [minimal('platform: linux/x86_64'), minimal('platform: linux/amd64')],
    [
      minimal('workloads: { a: { command: [x], network: hots } }'),
      minimal('workloads: { a: { command: [x], network: host } }'),
    ],
    [minimal('workloads: { a: { comand: [x] } }'), minimal('workloads: { a: { command: [x] } }')],
    [yaml('name: Demo Env', 'from: debian:12'), yaml('strata: 1', 'name: demo-env', 'from: debian:12')],
  ];
  for (const [broken, fixed] of cases) {
    it(broken.split('\n').slice(-2).join(' ').trim(), () => {
      assert.equal(applyFixes(broken), fixed);
      assert.deepEqual(
        parseSpec(fixed).diagnostics.filter((d) => d.severity === 'error'),
        [],
      );
    });
  }
});
