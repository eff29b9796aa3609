// Small builders for language-service tests (as yaml-language-server's createExpectedError):
// a spec from lines, and an expected diagnostic by code and 1-based line:column.
import * as assert from 'node:assert/strict';
import { parseSpec, type ParseSpecOptions, type SpecDiagnostic } from '../../../server/src/lsp/spec';

/** Joins lines into a document with a final newline. */
export function yaml(...lines: string[]): string {
  return lines.join('\n') + '\n';
}

/** A valid minimal spec with extra lines appended. */
export function minimal(...extra: string[]): string {
  return yaml('strata: 1', 'name: demo', 'from: docker.io/library/debian:bookworm-slim', ...extra);
}

export interface Expected {
  code: string;
  severity?: SpecDiagnostic['severity'];
  /** 1-based line and column of the start, as the CLI prints them. */
  at?: string;
  /** 1-based line:column of the end. */
  to?: string;
  message?: RegExp;
}

function where(d: SpecDiagnostic): string {
  return `${d.range.start.line + 1}:${d.range.start.character + 1}`;
}

function whereEnd(d: SpecDiagnostic): string {
  return `${d.range.end.line + 1}:${d.range.end.character + 1}`;
}

export function describeDiagnostics(list: SpecDiagnostic[]): string {
  return list.map((d) => `${where(d)}-${whereEnd(d)} ${d.severity} ${d.code}: ${d.message}`).join('\n');
}

/** Asserts that `list` holds exactly the expected diagnostics (in document order). */
export function assertDiagnostics(list: SpecDiagnostic[], expected: Expected[]): void {
  const shown = describeDiagnostics(list);
  assert.equal(list.length, expected.length, `expected ${expected.length} diagnostics, got:\n${shown}`);
  expected.forEach((e, i) => {
    const d = list[i];
    assert.equal(d.code, e.code, `diagnostic ${i}: ${shown}`);
    if (e.severity) assert.equal(d.severity, e.severity, `diagnostic ${i}: ${shown}`);
    if (e.at) assert.equal(where(d), e.at, `start of diagnostic ${i}: ${shown}`);
    if (e.to) assert.equal(whereEnd(d), e.to, `end of diagnostic ${i}: ${shown}`);
    if (e.message) assert.match(d.message, e.message, `message of diagnostic ${i}`);
  });
}

export function check(text: string, expected: Expected[], options?: ParseSpecOptions) {
  const result = parseSpec(text, options);
  assertDiagnostics(result.diagnostics, expected);
  return result;
}
