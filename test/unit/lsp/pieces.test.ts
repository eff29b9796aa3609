// Incremental parsing (yamlChunks.ts) must give exactly what a whole parse gives: the same
// diagnostics, the same model with the same ranges, edit after edit on the same cache.
import * as assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseSpecFrom } from '../../../server/src/lsp/spec';
import { YamlPieces } from '../../../server/src/lsp/yamlChunks';
import { parseYaml } from '../../../server/src/lsp/yamlSource';

const word = fc.constantFrom(
  'make',
  'python3-numpy',
  'fit',
  'none',
  'host',
  '4GiB',
  'x',
  '"q"',
  '/opt',
  './src',
  'Bad',
  '1',
);

const bigSpec = fc
  .record({
    steps: fc.array(fc.tuple(fc.boolean(), word, word), { minLength: 40, maxLength: 80 }),
    workloads: fc.array(fc.tuple(word, word), { minLength: 40, maxLength: 80 }),
    comments: fc.boolean(),
  })
  .map(
    ({ steps, workloads, comments }) =>
      [
        '# a large spec',
        'strata: 1',
        'name: big',
        'from: docker.io/library/debian:bookworm-slim',
        'env:',
        '  A: "1"',
        'steps:',
        ...steps.map(([apt, a, b]) =>
          apt ? `  - apt: [${a}, ${b}]` : `  - run: make ${a}\n    network: ${b}`,
        ),
        ...(comments ? ['', '# the workloads', ''] : []),
        'workloads:',
        ...workloads.map(([c, m], i) => `  w${i}:\n    command: [${c}]\n    resources: { memory: ${m} }`),
        'mounts:',
        '  - { src: ./data, dest: /data }',
      ].join('\n') + '\n',
  );

/** An edit: replace a slice with text (possibly breaking the YAML). */
const edit = fc.tuple(
  fc.nat(),
  fc.nat({ max: 8 }),
  fc.constantFrom('', 'x', ' ', '\n', ':', '  - apt: [y]\n', 'w999:\n', '"', '[', '\n  ', '#'),
);

function view(text: string, pieces?: YamlPieces): string {
  const r = parseSpecFrom(parseYaml(text, pieces), { file: '/w/strata.yaml' });
  return JSON.stringify({ d: r.diagnostics, s: r.spec });
}

describe('lsp/pieces: incremental parsing equals a whole parse', () => {
  it('stitches large specs (and their edits) into the same result', function () {
    this.timeout(120000);
    fc.assert(
      fc.property(bigSpec, fc.array(edit, { minLength: 1, maxLength: 5 }), (text, edits) => {
        const pieces = new YamlPieces();
        assert.ok(text.length < 4096 || pieces.parse(text), 'a plain large spec is split');
        assert.equal(view(text, pieces), view(text));
        let current = text;
        for (const [at, len, insert] of edits) {
          const i = at % (current.length + 1);
          current = current.slice(0, i) + insert + current.slice(Math.min(current.length, i + len));
          assert.equal(view(current, pieces), view(current), `after editing at ${i}`);
        }
      }),
      { numRuns: 40, seed: 7 },
    );
  });
});
