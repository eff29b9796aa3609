// What every reader of a spec section shares: the text with its line index, where to put
// diagnostics, and small helpers that read typed values out of YAML nodes with their positions.
import { isMap, isScalar, isSeq, type Node, type Pair, type Scalar, type YAMLMap, type YAMLSeq } from 'yaml';
import type { Severity, SpecDiagnostic, SpecFix } from '../diagnostic';
import { closest, suggestKey } from '../suggest';
import type { LineIndex, SourceRange } from '../text';
import { checkContainerPath } from '../values';
import { describeNode, keyName, nodeSpan, pairSpan } from '../yamlSource';

export interface ReadContext {
  text: string;
  lines: LineIndex;
  diagnostics: SpecDiagnostic[];
  /** The spec's folder, for copy and mount sources; undefined when there is no file. */
  dir?: string;
  /** Tells whether a host path exists; without it, existence is not checked. */
  exists?: (absolutePath: string) => boolean;
}

export function report(
  ctx: ReadContext,
  severity: Severity,
  code: string,
  span: [number, number],
  message: string,
  fixes?: SpecFix[],
): void {
  ctx.diagnostics.push({ severity, code, message, range: rangeOf(ctx, span), ...(fixes ? { fixes } : {}) });
}

export function spanOf(node: unknown, fallback: [number, number]): [number, number] {
  return nodeSpan(node as Node | null, fallback);
}

/** A quick fix that replaces the text of `span` with `newText`. */
export function replaceWith(
  span: [number, number],
  newText: string,
  title = `Change to '${newText}'`,
): SpecFix[] {
  return [{ title, edits: [{ start: span[0], end: span[1], newText }], preferred: true }];
}

/** An absolute path in the container, with a fix that adds the missing `/`. */
export function checkDest(ctx: ReadContext, text: string, span: [number, number], what: string): void {
  const bad = checkContainerPath(text, what);
  if (!bad) return;
  const fixed = '/' + text.replace(/^\.?\/*/, '');
  report(ctx, 'error', 'bad-path', span, bad, text.includes('\0') ? undefined : replaceWith(span, fixed));
}

/** The range of a span, without the line breaks and spaces a block node's end includes. */
export function rangeOf(ctx: ReadContext, span: [number, number]): SourceRange {
  let end = span[1];
  while (end > span[0] && /\s/.test(ctx.text[end - 1] ?? '')) end--;
  return ctx.lines.range(span[0], end);
}

/** A scalar's text. Numbers and booleans count as their source text (`sleep 10`, `FOO: 4`). */
export function scalarText(node: unknown): string | undefined {
  if (!isScalar(node) || node.value === null || node.value === undefined) return undefined;
  if (typeof node.value === 'string') return node.value;
  if (typeof node.value === 'number' || typeof node.value === 'boolean')
    return node.source ?? String(node.value);
  return undefined;
}

/** Reads a text value, or reports what was found instead. */
export function readText(
  ctx: ReadContext,
  node: unknown,
  what: string,
  at: [number, number],
): string | undefined {
  const text = scalarText(node);
  if (text !== undefined) return text;
  if (isNull(node)) {
    report(ctx, 'error', 'empty-value', at, `${what} has no value`);
    return undefined;
  }
  report(ctx, 'error', 'wrong-type', spanOf(node, at), `${what} should be text, not ${describeNode(node)}`);
  return undefined;
}

/** Reads a list of text items; a single text counts as a list of one when `single` allows it. */
export function readTextList(
  ctx: ReadContext,
  node: unknown,
  what: string,
  at: [number, number],
): { value: string; span: [number, number] }[] | undefined {
  if (!isSeq(node)) {
    report(
      ctx,
      'error',
      'wrong-type',
      spanOf(node, at),
      `${what} should be a list, e.g. [a, b], not ${describeNode(node)}`,
    );
    return undefined;
  }
  const out: { value: string; span: [number, number] }[] = [];
  for (const item of (node as YAMLSeq).items) {
    const span = spanOf(item, spanOf(node, at));
    const text = scalarText(item);
    if (text === undefined) {
      report(
        ctx,
        'error',
        'wrong-type',
        span,
        `each item of ${what} should be text, not ${describeNode(item)}`,
      );
      continue;
    }
    out.push({ value: text, span });
  }
  return out;
}

export function readBoolean(
  ctx: ReadContext,
  node: unknown,
  what: string,
  at: [number, number],
): boolean | undefined {
  if (isScalar(node) && typeof node.value === 'boolean') return node.value;
  const text = scalarText(node);
  const word =
    text && /^(yes|no|on|off|y|n)$/i.test(text) ? (/^(yes|on|y)$/i.test(text) ? 'true' : 'false') : undefined;
  const hint = word ? `; write ${word}` : '';
  report(
    ctx,
    'error',
    'wrong-type',
    spanOf(node, at),
    `${what} should be true or false, not ${describeNode(node)}${hint}`,
    word ? replaceWith(spanOf(node, at), word) : undefined,
  );
  return undefined;
}

/** One of a few words, with "did you mean" for a near miss. */
export function readEnum<T extends string>(
  ctx: ReadContext,
  node: unknown,
  what: string,
  allowed: readonly T[],
  at: [number, number],
): T | undefined {
  const text = scalarText(node);
  if (text !== undefined && (allowed as readonly string[]).includes(text)) return text as T;
  const span = spanOf(node, at);
  const guess = text === undefined ? undefined : closest(text, allowed);
  const fixes: SpecFix[] | undefined = guess
    ? [
        {
          title: `Change to '${guess}'`,
          edits: [{ start: span[0], end: span[1], newText: guess }],
          preferred: true,
        },
      ]
    : undefined;
  report(
    ctx,
    'error',
    'bad-value',
    span,
    `${what} must be ${allowed.map((a) => `'${a}'`).join(' or ')}, not ${describeNode(node)}${guess ? `; did you mean '${guess}'?` : ''}`,
    fixes,
  );
  return undefined;
}

export interface MapEntry {
  key: string;
  pair: Pair;
  keySpan: [number, number];
  value: unknown;
  span: [number, number];
}

/**
 * The entries of a mapping whose keys are from `known`: unknown keys are errors with a "did you
 * mean" and a fix, duplicates are errors (YAML would silently keep the last). Keys starting with
 * `x-` are the user's own annotations and are ignored, as in Compose files.
 */
export function readMap(
  ctx: ReadContext,
  node: unknown,
  what: string,
  known: readonly string[] | undefined,
  at: [number, number],
  /** Filled with the keys that unknown keys were taken to mean, so "missing" is not said twice. */
  misspelt?: Set<string>,
): Map<string, MapEntry> | undefined {
  if (!isMap(node)) {
    report(
      ctx,
      'error',
      'wrong-type',
      spanOf(node, at),
      `${what} should be a mapping (key: value lines), not ${describeNode(node)}`,
    );
    return undefined;
  }
  const entries = new Map<string, MapEntry>();
  for (const pair of (node as YAMLMap).items) {
    const key = keyName(pair);
    const keySpan = spanOf(pair.key, pairSpan(pair));
    if (key === undefined) {
      report(ctx, 'error', 'bad-key', keySpan, `keys in ${what} should be plain words`);
      continue;
    }
    const entry: MapEntry = { key, pair, keySpan, value: pair.value, span: spanOf(pair.value, keySpan) };
    if (entries.has(key)) {
      report(
        ctx,
        'error',
        'duplicate-key',
        keySpan,
        `'${key}' appears twice in ${what}; YAML would silently keep only the second`,
      );
      continue;
    }
    if (known && !known.includes(key)) {
      if (key.startsWith('x-')) continue;
      const guess = suggestKey(
        key,
        known.filter((k) => !entries.has(k)),
      );
      if (guess) misspelt?.add(guess);
      report(
        ctx,
        'error',
        'unknown-key',
        keySpan,
        guess
          ? `unknown key '${key}' in ${what}; did you mean '${guess}'?`
          : `unknown key '${key}' in ${what}; expected ${known.map((k) => `'${k}'`).join(', ')}`,
        guess
          ? [
              {
                title: `Rename '${key}' to '${guess}'`,
                edits: [{ start: keySpan[0], end: keySpan[1], newText: guess }],
                preferred: true,
              },
            ]
          : undefined,
      );
      continue;
    }
    entries.set(key, entry);
  }
  return entries;
}

/** A map of names to text (env, labels), each name checked by `checkName`. */
export function readStringMap(
  ctx: ReadContext,
  node: unknown,
  what: string,
  at: [number, number],
  checkName?: (name: string) => string | undefined,
): Record<string, string> {
  const out: Record<string, string> = {};
  if (isScalar(node) && node.value === null) return out;
  const entries = readMap(ctx, node, what, undefined, at);
  if (!entries) return out;
  for (const e of entries.values()) {
    const bad = checkName?.(e.key);
    if (bad) report(ctx, 'error', 'bad-name', e.keySpan, bad);
    const value =
      isScalar(e.value) && e.value.value === null
        ? ''
        : readText(ctx, e.value, `${what}.${e.key}`, e.keySpan);
    if (value !== undefined) out[e.key] = value;
  }
  return out;
}

export function isNull(node: unknown): boolean {
  return node === null || node === undefined || (isScalar(node) && (node as Scalar).value === null);
}
