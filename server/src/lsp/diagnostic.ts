// A problem found in a spec or lock, in offsets and lines, with the fixes an editor can offer.
// The CLI prints it as `file:line:col: severity: message`; the server turns it into an LSP
// Diagnostic plus code actions.
import type { SourceRange } from './text';

export type Severity = 'error' | 'warning' | 'information' | 'hint';

/** Replace text[start, end) with newText. Offsets into the document the diagnostic is about. */
export interface OffsetEdit {
  start: number;
  end: number;
  newText: string;
}

/** A fix an editor offers as a code action: text edits, or a command to run (e.g. strata.build). */
export interface SpecFix {
  title: string;
  edits?: OffsetEdit[];
  command?: { command: string; arguments?: unknown[] };
  /** The one fix to apply with "auto fix". */
  preferred?: boolean;
}

export interface SpecDiagnostic {
  severity: Severity;
  /** Stable identifier for programs and tests, e.g. `unknown-key`, `yaml-syntax`. */
  code: string;
  /** The problem in the user's words, with the way out where there is one. */
  message: string;
  range: SourceRange;
  fixes?: SpecFix[];
}

/** `file:line:col: severity: message` with a 1-based line and column, as compilers print. */
export function formatDiagnostic(file: string, d: SpecDiagnostic): string {
  const firstLine = d.message.split('\n')[0];
  return `${file}:${d.range.start.line + 1}:${d.range.start.character + 1}: ${d.severity}: ${firstLine}`;
}

const order: Record<Severity, number> = { error: 0, warning: 1, information: 2, hint: 3 };

/** Diagnostics in document order, errors first where two start at the same place. */
export function sortDiagnostics(list: SpecDiagnostic[]): SpecDiagnostic[] {
  return [...list].sort(
    (a, b) =>
      a.range.start.offset - b.range.start.offset ||
      order[a.severity] - order[b.severity] ||
      a.code.localeCompare(b.code),
  );
}

export function hasErrors(list: SpecDiagnostic[]): boolean {
  return list.some((d) => d.severity === 'error');
}
