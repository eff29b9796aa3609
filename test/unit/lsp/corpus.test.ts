// The corpus of broken specs (test/fixtures/specs/broken): each NAME.yaml has NAME.expected with
// every diagnostic it must produce, one per line: `line:col-line:col severity code: message`
// (1-based). The expectations were reviewed by hand; a change in wording shows up here.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseSpec } from '../../../server/src/lsp/spec';
import { fixturesDir } from '../../support/paths';

const dir = path.join(fixturesDir, 'specs', 'broken');
const cases = fs
  .readdirSync(dir)
  .filter((f) => f.endsWith('.yaml'))
  .sort();

function render(file: string): string[] {
  const r = parseSpec(fs.readFileSync(file, 'utf8'), { file, exists: (p) => fs.existsSync(p) });
  return r.diagnostics.map(
    (d) =>
      `${d.range.start.line + 1}:${d.range.start.character + 1}-${d.range.end.line + 1}:${d.range.end.character + 1} ${d.severity} ${d.code}: ${d.message.replaceAll(dir, '<dir>')}`,
  );
}

describe('lsp/corpus: broken specs and their exact diagnostics', () => {
  it('has at least 40 broken specs, each with expectations', () => {
    assert.ok(cases.length >= 40, `only ${cases.length} cases`);
    for (const c of cases)
      assert.ok(fs.existsSync(path.join(dir, c.replace(/\.yaml$/, '.expected'))), `${c} has no .expected`);
  });

  for (const c of cases) {
    it(c.replace(/\.yaml$/, ''), () => {
      const file = path.join(dir, c);
      const expected = fs
        .readFileSync(file.replace(/\.yaml$/, '.expected'), 'utf8')
        .split('\n')
        .filter(Boolean);
      const actual = render(file);
      assert.deepEqual(actual, expected);
      // A broken spec never yields a model when it has an error.
      const r = parseSpec(fs.readFileSync(file, 'utf8'), { file, exists: (p) => fs.existsSync(p) });
      if (expected.some((l) => / error /.test(l))) assert.equal(r.spec, undefined);
    });
  }
});
