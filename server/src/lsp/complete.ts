// Completion while typing, when the YAML is usually incomplete: the context (which mapping the
// cursor is in, or which key's value it is typing) comes from indentation and the line's text, not
// from the parse tree, which a half-typed line breaks.
import type { LineIndex } from './text';
import type { PathSegment } from './locate';
import { SPEC_SCHEMA, fieldDoc, fieldKeys } from './specSchema';
import { schemaAt } from './schemaCheck';
import { STEP_KINDS, STEP_OPTIONS, type StepKind } from './model';

export interface CompletionEntry {
  label: string;
  kind: 'property' | 'value' | 'snippet' | 'package' | 'image';
  detail?: string;
  documentation?: string;
  /** Text to insert; a snippet (with $1, ${1:x}) when `snippet` is true. */
  insertText: string;
  snippet?: boolean;
  /** Offsets of the text the entry replaces (the word typed so far). */
  replace: [number, number];
}

/** What completion can draw on beyond the schema. */
export interface CompletionSources {
  /** Package names seen before (in locks, in the store), by manager. */
  packageNames?(kind: 'apt' | 'pip'): readonly string[];
  /** Image references seen before (the lock's base, the store's images). */
  imageRefs?(): readonly string[];
}

/** Base images researchers start from, offered for `from:`. */
export const WELL_KNOWN_BASES = [
  'docker.io/library/debian:bookworm-slim',
  'docker.io/library/debian:bookworm',
  'docker.io/library/ubuntu:24.04',
  'docker.io/library/ubuntu:22.04',
  'docker.io/library/python:3.12-slim-bookworm',
  'docker.io/library/python:3.11-slim-bookworm',
  'docker.io/library/rockylinux:9',
  'docker.io/library/busybox:1.36',
  'docker.io/condaforge/miniforge3:24.3.0-0',
  'docker.io/rocker/r-ver:4.4.1',
  'docker.io/julia:1.10',
  'docker.io/nvidia/cuda:12.4.1-runtime-ubuntu22.04',
  'scratch',
];

const KEY_SNIPPETS: Record<string, string> = {
  steps: 'steps:\n  - ${1|apt,pip,copy,run|}: $0',
  workloads: 'workloads:\n  ${1:main}:\n    command: [$2]$0',
  mounts: 'mounts:\n  - { src: ./${1:data}, dest: /${2:data}, readonly: ${3|true,false|} }$0',
  env: 'env:\n  ${1:NAME}: "${2:value}"$0',
  labels: 'labels:\n  ${1:org.opencontainers.image.source}: "${2}"$0',
  resources: 'resources: { cpus: ${1:2}, memory: ${2:4GiB} }$0',
  strata: 'strata: 1',
  outputs: 'outputs: [${1:results/}]$0',
  command: 'command: [$1]$0',
};

const STEP_SNIPPETS: Record<StepKind, string> = {
  apt: 'apt: [$1]$0',
  pip: 'pip: [$1]$0',
  copy: 'copy: { src: ${1:./src}, dest: ${2:/opt/app} }$0',
  run: 'run: $0',
};

interface KeyContext {
  mode: 'key';
  parent: PathSegment[];
  partial: string;
  siblings: Set<string>;
}
interface ValueContext {
  mode: 'value';
  path: PathSegment[];
  partial: string;
}

const keyLine = /^(\s*)((?:-\s+)*)(?:(["']?)([^\s#:'"][^#:'"]*?)\3\s*:(?:\s|$))?/;

/** The path of mapping keys and list items that encloses a line's content at column `col`. */
function enclosing(lines: LineIndex, line: number, col: number): PathSegment[] {
  const path: PathSegment[] = [];
  let cur = col;
  for (let l = line - 1; l >= 0 && cur > 0; l--) {
    const t = lines.lineText(l);
    if (/^\s*(#.*)?$/.test(t)) continue;
    const m = keyLine.exec(t)!;
    const ind = m[1].length;
    const dashLen = m[2].length;
    const key = m[4];
    if (key !== undefined && ind + dashLen < cur) {
      path.unshift(key.trim());
      if (dashLen > 0) path.unshift(0);
      cur = ind;
    } else if (dashLen > 0 && ind < cur) {
      path.unshift(0);
      cur = ind;
    }
  }
  return path;
}

/** Keys already present in the mapping whose keys sit at column `col` around `line`. */
function siblingKeys(lines: LineIndex, line: number, col: number, startsItem: boolean): Set<string> {
  const out = new Set<string>();
  const read = (l: number) => {
    const t = lines.lineText(l);
    if (/^\s*(#.*)?$/.test(t)) return undefined;
    const m = keyLine.exec(t)!;
    return {
      ind: m[1].length,
      dashed: m[2].length > 0,
      keyCol: m[1].length + m[2].length,
      key: m[4]?.trim(),
    };
  };
  if (!startsItem) {
    for (let l = line - 1; l >= 0; l--) {
      const r = read(l);
      if (!r) continue;
      if (r.keyCol < col) break;
      if (r.keyCol === col && r.key) out.add(r.key);
      if (r.dashed && r.keyCol === col) break; // the first line of this list item
    }
  }
  for (let l = line + 1; l < lines.lineCount; l++) {
    const r = read(l);
    if (!r) continue;
    if (r.keyCol < col || (r.dashed && r.ind < col)) break;
    if (r.keyCol === col && r.key) out.add(r.key);
  }
  return out;
}

function contextAt(lines: LineIndex, offset: number): KeyContext | ValueContext | undefined {
  const pos = lines.position(offset);
  const before = lines.text.slice(offset - pos.character, offset);
  if (/#/.test(before.replace(/"[^"]*"|'[^']*'/g, ''))) return undefined; // in a comment
  const m = /^(\s*)((?:-\s+)*)(.*)$/.exec(before)!;
  const indent = m[1].length;
  const dashes = m[2].length;
  const rest = m[3];
  const col = indent + dashes;
  const base = enclosing(lines, pos.line, dashes ? indent : col);
  const itemBase = dashes ? [...base, 0] : base;
  const kv = /^([A-Za-z_][\w.-]*)\s*:\s*(.*)$/.exec(rest);
  if (kv) {
    const [, key, value] = kv;
    const path = [...itemBase, key];
    if (!/^[[{]/.test(value)) return { mode: 'value', path, partial: value };
    return flowContext(path, value);
  }
  // `- { src: ./a, dest: |` : a flow collection as the list item itself.
  if (/^[[{]/.test(rest)) return flowContext(itemBase, rest);
  if (!/^[\w.-]*$/.test(rest)) return undefined;
  // A bare word: a key of the enclosing mapping, or an item of a list of values.
  const itemSchema = schemaAt(SPEC_SCHEMA, itemBase);
  const isMapping =
    !!itemSchema &&
    (itemSchema.properties ||
      itemSchema.anyOf ||
      itemSchema.oneOf?.some((o) => o.type === 'object' || o.$ref) ||
      itemSchema.additionalProperties);
  if (dashes && !isMapping) return { mode: 'value', path: itemBase, partial: rest };
  return {
    mode: 'key',
    parent: itemBase,
    partial: rest,
    siblings: siblingKeys(lines, pos.line, col, dashes > 0),
  };
}

/** Inside a flow collection on this line: [a, b, pa| or { cpus: 2, mem| or { src: ./x, dest: /| */
function flowContext(path: PathSegment[], value: string): KeyContext | ValueContext | undefined {
  const opened =
    value.lastIndexOf('[') > value.lastIndexOf(']') || value.lastIndexOf('{') > value.lastIndexOf('}');
  if (!opened) return undefined;
  const lastOpen = Math.max(value.lastIndexOf('['), value.lastIndexOf('{'));
  const inMap = value[lastOpen] === '{';
  const tail = value.slice(Math.max(lastOpen, value.lastIndexOf(',')) + 1).trimStart();
  if (!inMap) return { mode: 'value', path: [...path, 0], partial: tail.replace(/^["']/, '') };
  const inner = /^([A-Za-z_][\w.-]*)\s*:\s*(.*)$/.exec(tail);
  if (inner) return { mode: 'value', path: [...path, inner[1]], partial: inner[2] };
  const present = new Set([...value.matchAll(/([A-Za-z_][\w.-]*)\s*:/g)].map((x) => x[1]));
  return { mode: 'key', parent: path, partial: tail, siblings: present };
}

export function complete(
  lines: LineIndex,
  offset: number,
  sources: CompletionSources = {},
): CompletionEntry[] {
  const ctx = contextAt(lines, offset);
  if (!ctx) return [];
  const replace: [number, number] = [offset - ctx.partial.length, offset];
  return ctx.mode === 'key' ? completeKey(ctx, replace) : completeValue(ctx, replace, sources);
}

function completeKey(ctx: KeyContext, replace: [number, number]): CompletionEntry[] {
  const { parent, siblings } = ctx;
  const out: CompletionEntry[] = [];
  const inStep = parent.length === 2 && parent[0] === 'steps' && typeof parent[1] === 'number';
  if (inStep) {
    const kind = STEP_KINDS.find((k) => siblings.has(k));
    if (kind) {
      for (const option of STEP_OPTIONS[kind]) {
        if (siblings.has(option)) continue;
        const doc = fieldDoc(SPEC_SCHEMA, [...parent, option]);
        out.push({
          label: option,
          kind: 'property',
          documentation: doc?.description,
          insertText: `${option}: `,
          replace,
        });
      }
      return out;
    }
    for (const k of STEP_KINDS) {
      const doc = fieldDoc(SPEC_SCHEMA, [...parent, k]);
      out.push({
        label: k,
        kind: 'snippet',
        detail: `${k} step`,
        documentation: doc?.description,
        insertText: STEP_SNIPPETS[k],
        snippet: true,
        replace,
      });
    }
    return out;
  }
  if (parent.length === 1 && parent[0] === 'workloads') {
    return [
      {
        label: 'new workload',
        kind: 'snippet',
        detail: 'a named command: strata run NAME',
        insertText: '${1:name}:\n  command: [$2]$0',
        snippet: true,
        replace,
      },
    ];
  }
  for (const { key, description } of fieldKeys(SPEC_SCHEMA, parent)) {
    if (siblings.has(key)) continue;
    const snippet = KEY_SNIPPETS[key];
    const doc = fieldDoc(SPEC_SCHEMA, [...parent, key]);
    out.push({
      label: key,
      kind: 'property',
      documentation: description ?? doc?.description,
      insertText: snippet ?? `${key}: `,
      snippet: !!snippet,
      replace,
    });
  }
  return out;
}

function completeValue(
  ctx: ValueContext,
  replace: [number, number],
  sources: CompletionSources,
): CompletionEntry[] {
  const { path, partial } = ctx;
  const last = path[path.length - 1];
  const parentKey = path[path.length - 2];
  const out: CompletionEntry[] = [];
  const add = (values: readonly string[], kind: CompletionEntry['kind'], detail?: string) => {
    const lower = partial.toLowerCase();
    for (const v of values) {
      if (out.some((o) => o.label === v)) continue;
      if (lower && !v.toLowerCase().includes(lower)) continue;
      out.push({ label: v, kind, ...(detail ? { detail } : {}), insertText: v, replace });
    }
  };
  if (path.length === 1 && last === 'from') {
    add(sources.imageRefs?.() ?? [], 'image', 'seen before');
    add(WELL_KNOWN_BASES, 'image', 'well-known base image');
    return out;
  }
  if (typeof last === 'number' && (parentKey === 'apt' || parentKey === 'pip')) {
    add(sources.packageNames?.(parentKey) ?? [], 'package', `${parentKey} package seen before`);
    return out;
  }
  if ((last === 'apt' || last === 'pip') && path[0] === 'steps') {
    add(sources.packageNames?.(last) ?? [], 'package', `${last} package seen before`);
    return out;
  }
  const doc = fieldDoc(SPEC_SCHEMA, path);
  if (doc?.enum) add(doc.enum.map(String), 'value');
  const s = schemaAt(SPEC_SCHEMA, path);
  if (s?.type === 'boolean') add(['true', 'false'], 'value');
  if (s?.const !== undefined) add([String(s.const)], 'value');
  if (doc?.examples)
    add(
      doc.examples
        .filter((e): e is string | number => typeof e === 'string' || typeof e === 'number')
        .map(String),
      'value',
      'example',
    );
  return out;
}
