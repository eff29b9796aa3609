// Parses YAML with source offsets (the `yaml` package's Document, whose nodes carry
// range = [start, valueEnd, nodeEnd]) and reports every syntax error at once, in the user's words.
import { isMap, isScalar, isSeq, parseDocument, visit, type Document, type Node, type Pair } from 'yaml';
import type { SpecDiagnostic } from './diagnostic';
import { LineIndex } from './text';
import type { YamlPieces } from './yamlChunks';

export interface ParsedYaml {
  text: string;
  lines: LineIndex;
  /** The root node (contents), whether from a whole parse or stitched from cached pieces. */
  doc: { contents: unknown };
  diagnostics: SpecDiagnostic[];
}

// The yaml package's messages are accurate; for the confusing ones, add what usually causes them.
const causes: Record<string, string> = {
  MULTILINE_IMPLICIT_KEY: 'is a colon, quote or bracket missing above?',
  BLOCK_AS_IMPLICIT_KEY: 'is the indentation right?',
  TAB_AS_INDENT: 'indent with spaces',
  BAD_INDENT: 'check the indentation',
  MISSING_CHAR: 'close the quote or bracket',
};

/** Parses `text`; with `pieces`, large specs re-parse only the sections an edit touched. */
export function parseYaml(text: string, pieces?: YamlPieces): ParsedYaml {
  const lines = new LineIndex(text);
  const stitched = pieces?.parse(text);
  if (stitched) return { text, lines, doc: stitched, diagnostics: [] };
  // uniqueKeys is off: duplicates are reported by the validator, which knows what the key means.
  const doc = parseDocument(text, { prettyErrors: false, uniqueKeys: false, strict: false });
  const diagnostics: SpecDiagnostic[] = [];
  for (const e of doc.errors) {
    const [start, end] = e.pos;
    if (e.code === 'MISSING_CHAR' && /quote/.test(e.message)) {
      // The parser notices at the end of the text; the mistake is the quote that opened it.
      const open = openingQuote(doc, start);
      if (open !== undefined) {
        const line = lines.position(open).line + 1;
        diagnostics.push({
          severity: 'error',
          code: 'yaml-syntax',
          message: `YAML syntax: this quote is never closed, so everything after it (to line ${lines.position(start).line + 1}) is one text; close it on line ${line}`,
          range: lines.range(open, open + 1),
        });
        continue;
      }
    }
    const cause = causes[e.code];
    const message =
      e.code === 'MULTIPLE_DOCS'
        ? 'a strata.yaml holds one document; remove the second `---` and what follows, or merge them'
        : `YAML syntax: ${e.message.replace(/\.$/, '')}${cause ? ` (${cause})` : ''}`;
    diagnostics.push({
      severity: 'error',
      code: 'yaml-syntax',
      message,
      range: lines.range(start, Math.max(end, start + 1)),
    });
  }
  for (const w of doc.warnings) {
    const [start, end] = w.pos;
    diagnostics.push({
      severity: 'warning',
      code: 'yaml-warning',
      message: `YAML: ${w.message}`,
      range: lines.range(start, Math.max(end, start + 1)),
    });
  }
  return { text, lines, doc, diagnostics };
}

function openingQuote(doc: Document.Parsed, errorAt: number): number | undefined {
  let found: number | undefined;
  visit(doc, {
    Scalar(_key, node) {
      const r = node.range;
      if (
        r &&
        (node.type === 'QUOTE_DOUBLE' || node.type === 'QUOTE_SINGLE') &&
        r[0] < errorAt &&
        r[2] >= errorAt
      ) {
        found = r[0];
        return visit.BREAK;
      }
      return undefined;
    },
  });
  return found;
}

/** [start, end) of a node's value, without trailing comments and line breaks. */
export function nodeSpan(node: Node | null | undefined, fallback: [number, number]): [number, number] {
  const r = node?.range;
  if (!r) return fallback;
  return [r[0], Math.max(r[0], r[1])];
}

/** [start, end) of a key/value pair: from the key to the end of the value. */
export function pairSpan(pair: Pair): [number, number] {
  const k = (pair.key as Node | null)?.range;
  const v = (pair.value as Node | null)?.range;
  const start = k?.[0] ?? v?.[0] ?? 0;
  const end = v ? Math.max(v[1], start) : (k?.[1] ?? start);
  return [start, end];
}

export function keyName(pair: Pair): string | undefined {
  const k = pair.key;
  if (isScalar(k)) return k.value === null ? undefined : String(k.value);
  return undefined;
}

/** What a node is, in the words a researcher would use. */
export function describeNode(node: unknown): string {
  if (node === null || node === undefined) return 'nothing';
  if (isMap(node)) return 'a mapping (key: value lines)';
  if (isSeq(node)) return 'a list';
  if (isScalar(node)) {
    const v = node.value;
    if (v === null) return 'nothing';
    if (typeof v === 'number') return `the number ${node.source ?? String(v)}`;
    if (typeof v === 'boolean') return `the boolean ${String(v)}`;
    return `the text "${String(v).length > 40 ? String(v).slice(0, 37) + '...' : String(v)}"`;
  }
  return 'an alias or other YAML construct';
}
