// Conversions from the language service's offset-based results to LSP types, done once at the
// edge. Types only (vscode-languageserver-types): no connection here either.
import {
  CodeAction,
  CodeActionKind,
  type CodeLens,
  CompletionItem,
  CompletionItemKind,
  Diagnostic,
  DiagnosticSeverity,
  DocumentSymbol,
  InsertTextFormat,
  MarkupKind,
  SymbolKind,
  TextEdit,
  type Hover,
  type Range,
} from 'vscode-languageserver-types';
import type { SpecAction } from './actions';
import type { CompletionEntry } from './complete';
import type { Severity, SpecDiagnostic, SpecFix } from './diagnostic';
import type { HoverResult } from './hover';
import type { SpecLens } from './lenses';
import type { SpecSymbol } from './symbols';
import type { LineIndex, SourceRange } from './text';

export function toRange(r: SourceRange): Range {
  return {
    start: { line: r.start.line, character: r.start.character },
    end: { line: r.end.line, character: r.end.character },
  };
}

export function spanToRange(lines: LineIndex, span: [number, number]): Range {
  return toRange(lines.range(span[0], span[1]));
}

const severities: Record<Severity, DiagnosticSeverity> = {
  error: DiagnosticSeverity.Error,
  warning: DiagnosticSeverity.Warning,
  information: DiagnosticSeverity.Information,
  hint: DiagnosticSeverity.Hint,
};

export function toDiagnostic(d: SpecDiagnostic): Diagnostic {
  return Diagnostic.create(toRange(d.range), d.message, severities[d.severity], d.code, 'strata');
}

const completionKinds: Record<CompletionEntry['kind'], CompletionItemKind> = {
  property: CompletionItemKind.Property,
  value: CompletionItemKind.Value,
  snippet: CompletionItemKind.Snippet,
  package: CompletionItemKind.Module,
  image: CompletionItemKind.Reference,
};

export function toCompletionItem(lines: LineIndex, e: CompletionEntry, index: number): CompletionItem {
  return {
    label: e.label,
    kind: completionKinds[e.kind],
    ...(e.detail ? { detail: e.detail } : {}),
    ...(e.documentation ? { documentation: { kind: MarkupKind.Markdown, value: e.documentation } } : {}),
    textEdit: TextEdit.replace(spanToRange(lines, e.replace), e.insertText),
    insertTextFormat: e.snippet ? InsertTextFormat.Snippet : InsertTextFormat.PlainText,
    sortText: String(index).padStart(4, '0'),
  };
}

export function toHover(lines: LineIndex, h: HoverResult): Hover {
  return { contents: { kind: MarkupKind.Markdown, value: h.contents }, range: spanToRange(lines, h.span) };
}

const symbolKinds: Record<SpecSymbol['kind'], SymbolKind> = {
  field: SymbolKind.Field,
  section: SymbolKind.Namespace,
  step: SymbolKind.Event,
  workload: SymbolKind.Function,
  mount: SymbolKind.File,
};

export function toDocumentSymbol(s: SpecSymbol): DocumentSymbol {
  return DocumentSymbol.create(
    s.name,
    s.detail,
    symbolKinds[s.kind],
    toRange(s.range),
    toRange(s.selectionRange),
    s.children?.map(toDocumentSymbol),
  );
}

export function toCodeLens(l: SpecLens): CodeLens {
  return {
    range: toRange(l.range),
    command: { title: l.title, command: l.command, arguments: l.arguments },
  };
}

function fixEdits(lines: LineIndex, fix: SpecFix): TextEdit[] {
  return (fix.edits ?? []).map((e) => TextEdit.replace(spanToRange(lines, [e.start, e.end]), e.newText));
}

export function toCodeAction(lines: LineIndex, uri: string, a: SpecAction): CodeAction {
  const action: CodeAction = {
    title: a.title,
    kind: a.kind === 'quickfix' ? CodeActionKind.QuickFix : CodeActionKind.RefactorRewrite,
  };
  if (a.diagnostic) action.diagnostics = [toDiagnostic(a.diagnostic)];
  if (a.fix.preferred) action.isPreferred = true;
  if (a.fix.edits?.length) action.edit = { changes: { [uri]: fixEdits(lines, a.fix) } };
  if (a.fix.command)
    action.command = { title: a.title, command: a.fix.command.command, arguments: a.fix.command.arguments };
  return action;
}
