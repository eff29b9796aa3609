// Property test (fast-check): for 1,000 generated documents, valid, almost valid and plain
// garbage, the language service never throws, and every range it returns lies inside the text.
import * as assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseLockText } from '../../../server/src/lsp/lock';
import { SpecLanguageService } from '../../../server/src/lsp/service';
import { parseSpec } from '../../../server/src/lsp/spec';
import type { SourceRange } from '../../../server/src/lsp/text';

const word = fc.constantFrom(
  'strata',
  'name',
  'from',
  'steps',
  'apt',
  'pip',
  'copy',
  'run',
  'network',
  'none',
  'host',
  'mounts',
  'src',
  'dest',
  'readonly',
  'workloads',
  'command',
  'resources',
  'memory',
  'cpus',
  'pids',
  'env',
  'outputs',
  'workdir',
  'platform',
  'scratch',
  'debian:12',
  'docker.io/library/busybox:1.36',
  '4GiB',
  'python3-numpy',
  'numpy==1.26',
  './src',
  '/opt',
  'true',
  'yes',
  '1',
  '2',
  'x-note',
  'comand',
  'Déjà',
  '😀',
);
const punctuation = fc.constantFrom(
  ':',
  ': ',
  '- ',
  '\n',
  '\n  ',
  '\n    ',
  '[',
  ']',
  '{',
  '}',
  ',',
  '"',
  "'",
  '#',
  '|',
  '>',
  '&a',
  '*a',
  '!!str',
  '---',
  '\t',
  '\r\n',
  '@',
  '?',
  '%',
  '\\',
);

/** Token soup: YAML-looking garbage that exercises the parser's error recovery. */
const soup = fc
  .array(fc.oneof(word, punctuation, fc.string({ maxLength: 6 })), { maxLength: 60 })
  .map((t) => t.join(''));

/** A structurally plausible spec, then mutated by cutting, duplicating or inserting text. */
const spec = fc
  .record({
    from: fc.oneof(word, fc.string({ maxLength: 20 })),
    steps: fc.array(
      fc.oneof(
        fc.array(word, { maxLength: 4 }).map((p) => `  - apt: [${p.join(', ')}]`),
        fc.array(word, { maxLength: 3 }).map((p) => `  - pip: [${p.join(', ')}]`),
        fc.tuple(word, word).map(([a, b]) => `  - copy: { src: ${a}, dest: ${b} }`),
        fc.string({ maxLength: 30 }).map((c) => `  - run: ${JSON.stringify(c)}\n    network: none`),
      ),
      { maxLength: 6 },
    ),
    workloads: fc.array(fc.tuple(word, word, word), { maxLength: 4 }),
  })
  .map(({ from, steps, workloads }) =>
    [
      'strata: 1',
      'name: demo',
      `from: ${from}`,
      'steps:',
      ...steps,
      'workloads:',
      ...workloads.map(([n, c, m]) => `  ${n}:\n    command: [${c}]\n    resources: { memory: ${m} }`),
    ].join('\n'),
  );

const mutated = fc
  .tuple(spec, fc.nat(), fc.nat(), fc.oneof(soup, fc.constant('')))
  .map(([text, a, b, insert]) => {
    const i = a % (text.length + 1);
    const j = Math.min(text.length, i + (b % 12));
    return text.slice(0, i) + insert + text.slice(j);
  });

const documents = fc.oneof(
  soup,
  spec,
  mutated,
  fc.string({ maxLength: 200 }),
  fc.string({ unit: 'binary', maxLength: 80 }),
);

function assertInside(text: string, r: SourceRange, what: string): void {
  const lines = text.split(/\r\n|\r|\n/);
  for (const p of [r.start, r.end]) {
    assert.ok(
      p.offset >= 0 && p.offset <= text.length,
      `${what}: offset ${p.offset} outside 0..${text.length}`,
    );
    assert.ok(
      p.line >= 0 && p.line < lines.length,
      `${what}: line ${p.line} outside the ${lines.length} lines`,
    );
    assert.ok(
      p.character >= 0 && p.character <= lines[p.line].length,
      `${what}: character ${p.character} beyond line ${p.line}`,
    );
  }
  assert.ok(r.start.offset <= r.end.offset, `${what}: range ends before it starts`);
}

function spanInside(text: string, span: [number, number], what: string): void {
  assert.ok(
    0 <= span[0] && span[0] <= span[1] && span[1] <= text.length,
    `${what}: span ${span} outside 0..${text.length}`,
  );
}

describe('lsp/property: generated documents', () => {
  it('never throws, and every range lies inside the document (1,000 documents)', function () {
    this.timeout(120000);
    const service = new SpecLanguageService({ exists: () => false, readFile: () => undefined });
    let version = 0;
    fc.assert(
      fc.property(documents, fc.nat(), (text, seed) => {
        const r = parseSpec(text, { file: '/w/strata.yaml', exists: () => false });
        for (const d of r.diagnostics) {
          assertInside(text, d.range, `diagnostic ${d.code}`);
          for (const f of d.fixes ?? [])
            for (const e of f.edits ?? []) spanInside(text, [e.start, e.end], `fix ${f.title}`);
          assert.equal(d.code === 'internal', false, `the validator threw: ${d.message}`);
        }
        for (const s of r.spec?.steps ?? []) assertInside(text, s.range, 'step');
        for (const w of Object.values(r.spec?.workloads ?? {})) assertInside(text, w.range, 'workload');
        const uri = 'file:///w/strata.yaml';
        service.open(uri, '/w/strata.yaml', text, ++version);
        for (const d of service.diagnostics(uri)) assertInside(text, d.range, `service diagnostic ${d.code}`);
        const offset = text.length ? seed % (text.length + 1) : 0;
        for (const c of service.completion(uri, offset)) spanInside(text, c.replace, `completion ${c.label}`);
        const h = service.hover(uri, offset);
        if (h) spanInside(text, h.span, 'hover');
        for (const s of service.symbols(uri)) assertInside(text, s.range, `symbol ${s.name}`);
        for (const l of service.lenses(uri)) assertInside(text, l.range, `lens ${l.title}`);
        for (const a of service.actions(uri, 0, text.length))
          for (const e of a.fix.edits ?? []) spanInside(text, [e.start, e.end], a.title);
        const def = service.definition(uri, offset);
        if (def) spanInside(text, def.span, 'definition');
        // The same text read as a strata.lock.
        for (const d of parseLockText(text).diagnostics)
          assertInside(text, d.range, `lock diagnostic ${d.code}`);
      }),
      { numRuns: 1000, seed: Number(process.env.STRATA_FC_SEED ?? 20261128) },
    );
  });
});
