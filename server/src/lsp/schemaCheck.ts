// A small JSON Schema (draft-07 subset) checker over YAML nodes, with positions: used for
// strata.lock, whose schema is the contract with the build engine, so that the file and the
// schema can never disagree. Supports what our schemas use: type, const, enum, required,
// properties, patternProperties, additionalProperties, items, pattern, minimum,
// exclusiveMinimum, oneOf/anyOf, $ref to #/definitions.
import { isMap, isScalar, isSeq, type Node } from 'yaml';
import { closest } from './suggest';
import { report, spanOf, type ReadContext } from './validate/context';
import { describeNode, keyName } from './yamlSource';

export interface JsonSchema {
  $ref?: string;
  type?: string | string[];
  const?: unknown;
  enum?: unknown[];
  required?: string[];
  properties?: Record<string, JsonSchema>;
  patternProperties?: Record<string, JsonSchema>;
  additionalProperties?: boolean | JsonSchema;
  items?: JsonSchema;
  pattern?: string;
  minimum?: number;
  exclusiveMinimum?: number;
  oneOf?: JsonSchema[];
  anyOf?: JsonSchema[];
  description?: string;
  definitions?: Record<string, JsonSchema>;
}

function resolve(root: JsonSchema, s: JsonSchema): JsonSchema {
  let cur = s;
  for (let i = 0; cur.$ref && i < 16; i++) {
    const name = cur.$ref.replace(/^#\/definitions\//, '');
    const target = root.definitions?.[name];
    if (!target) return {};
    cur = { ...target, ...Object.fromEntries(Object.entries(cur).filter(([k]) => k !== '$ref')) };
  }
  return cur;
}

function typeOf(node: unknown): string {
  if (isMap(node)) return 'object';
  if (isSeq(node)) return 'array';
  if (isScalar(node)) {
    const v = node.value;
    if (v === null || v === undefined) return 'null';
    if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
    if (typeof v === 'boolean') return 'boolean';
    return 'string';
  }
  return 'unknown';
}

function typeMatches(actual: string, wanted: string | string[]): boolean {
  const list = Array.isArray(wanted) ? wanted : [wanted];
  return list.includes(actual) || (actual === 'integer' && list.includes('number'));
}

const typeWords: Record<string, string> = {
  object: 'a mapping',
  array: 'a list',
  string: 'text',
  integer: 'a whole number',
  number: 'a number',
  boolean: 'true or false',
  null: 'nothing',
};

function words(t: string | string[]): string {
  return (Array.isArray(t) ? t : [t]).map((x) => typeWords[x] ?? x).join(' or ');
}

/** Checks `node` against `schema`; reports problems at `path` (e.g. steps[2].layer.size). */
export function checkAgainstSchema(
  ctx: ReadContext,
  root: JsonSchema,
  schema: JsonSchema,
  node: unknown,
  path: string,
  at: [number, number],
): void {
  const s = resolve(root, schema);
  const span = spanOf(node as Node | null, at);
  const name = path || 'the file';
  if (s.oneOf || s.anyOf) {
    const options = (s.oneOf ?? s.anyOf)!;
    // The first option that matches without problems wins; otherwise report the closest one's.
    let best: { count: number; diags: ReadContext['diagnostics'] } | undefined;
    for (const option of options) {
      const trial: ReadContext = { ...ctx, diagnostics: [] };
      checkAgainstSchema(trial, root, option, node, path, at);
      if (trial.diagnostics.length === 0) return;
      if (!best || trial.diagnostics.length < best.count)
        best = { count: trial.diagnostics.length, diags: trial.diagnostics };
    }
    ctx.diagnostics.push(...(best?.diags ?? []));
    return;
  }
  const actual = typeOf(node);
  if (s.type && !typeMatches(actual, s.type)) {
    report(
      ctx,
      'error',
      'schema-type',
      span,
      `${name} should be ${words(s.type)}, not ${describeNode(node)}`,
    );
    return;
  }
  const value = isScalar(node) ? node.value : undefined;
  if (s.const !== undefined && value !== s.const) {
    report(
      ctx,
      'error',
      'schema-value',
      span,
      `${name} should be ${JSON.stringify(s.const)}, not ${describeNode(node)}`,
    );
    return;
  }
  if (s.enum && !s.enum.includes(value)) {
    report(
      ctx,
      'error',
      'schema-value',
      span,
      `${name} should be one of ${s.enum.map((e) => JSON.stringify(e)).join(', ')}, not ${describeNode(node)}`,
    );
    return;
  }
  if (typeof value === 'string' && s.pattern && !new RegExp(s.pattern).test(value)) {
    const digest = s.pattern.includes('sha256');
    report(
      ctx,
      'error',
      'schema-pattern',
      span,
      digest
        ? `${name} should be a digest, sha256: and 64 lower-case hex digits, not '${value}'`
        : `${name}: '${value}' does not have the expected form`,
    );
  }
  if (typeof value === 'number') {
    if (s.minimum !== undefined && value < s.minimum)
      report(ctx, 'error', 'schema-range', span, `${name} should be at least ${s.minimum}`);
    if (s.exclusiveMinimum !== undefined && value <= s.exclusiveMinimum)
      report(ctx, 'error', 'schema-range', span, `${name} should be more than ${s.exclusiveMinimum}`);
  }
  if (isSeq(node) && s.items) {
    node.items.forEach((item, i) => checkAgainstSchema(ctx, root, s.items!, item, `${path}[${i}]`, span));
  }
  if (isMap(node)) {
    const present = new Set<string>();
    const known = Object.keys(s.properties ?? {});
    for (const pair of node.items) {
      const key = keyName(pair);
      const keySpan = spanOf(pair.key as Node | null, span);
      if (key === undefined) continue;
      const child = path ? `${path}.${key}` : key;
      if (present.has(key)) {
        report(ctx, 'error', 'duplicate-key', keySpan, `'${key}' appears twice in ${name}`);
        continue;
      }
      present.add(key);
      const prop =
        s.properties?.[key] ??
        Object.entries(s.patternProperties ?? {}).find(([re]) => new RegExp(re).test(key))?.[1];
      if (prop) {
        checkAgainstSchema(ctx, root, prop, pair.value, child, keySpan);
      } else if (s.additionalProperties === false) {
        const guess = closest(
          key,
          known.filter((k) => !present.has(k)),
        );
        report(
          ctx,
          'error',
          'unknown-key',
          keySpan,
          `unknown key '${key}' in ${name}${guess ? `; did you mean '${guess}'?` : ''}`,
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
      } else if (typeof s.additionalProperties === 'object') {
        checkAgainstSchema(ctx, root, s.additionalProperties, pair.value, child, keySpan);
      }
    }
    for (const r of s.required ?? []) {
      if (!present.has(r))
        report(
          ctx,
          'error',
          'missing-key',
          [span[0], Math.min(span[1], span[0] + 1)],
          `${name} is missing '${r}'`,
        );
    }
  }
}

/** The description of the schema node at a path of keys (numbers for list items), for hover. */
export function schemaAt(root: JsonSchema, keys: (string | number)[]): JsonSchema | undefined {
  let s: JsonSchema | undefined = resolve(root, root);
  for (const k of keys) {
    if (!s) return undefined;
    if (typeof k === 'number') {
      s = s.items ? resolve(root, s.items) : undefined;
      continue;
    }
    const options: JsonSchema[] = (s.oneOf ?? s.anyOf ?? [s]).map((o) => resolve(root, o));
    let next: JsonSchema | undefined;
    for (const o of options) {
      const p =
        o.properties?.[k] ??
        Object.entries(o.patternProperties ?? {}).find(([re]) => new RegExp(re).test(k))?.[1] ??
        (typeof o.additionalProperties === 'object' ? o.additionalProperties : undefined);
      if (p) {
        next = resolve(root, p);
        break;
      }
    }
    s = next;
  }
  return s;
}
