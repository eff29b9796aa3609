// The spec parser and validator that every front end uses: the language server while typing,
// `strata validate` in CI, and `strata build` before it builds. Pure: no connection, no engine
// state; the only I/O is the optional `exists` check for copy and mount sources.
//
//   const { spec, diagnostics } = parseSpec(text, { file: 'strata.yaml', exists: fs.existsSync });
//   for (const d of diagnostics) console.error(formatDiagnostic('strata.yaml', d));
//
// `spec` is present when the spec has no errors (warnings allowed).
import { createHash } from 'node:crypto';
import * as path from 'node:path';
import { hasErrors, sortDiagnostics, type SpecDiagnostic } from './diagnostic';
import type { Spec, Step, Workload } from './model';
import { readSpec } from './validate/top';
import { parseYaml, type ParsedYaml } from './yamlSource';

export * from './model';
export {
  formatDiagnostic,
  hasErrors,
  type SpecDiagnostic,
  type Severity,
  type SpecFix,
  type OffsetEdit,
} from './diagnostic';
export type { SourcePosition, SourceRange } from './text';

export interface ParseSpecOptions {
  /** Path of the spec file; copy and mount sources are resolved against its folder. */
  file?: string;
  /** Folder that copy and mount sources are relative to; default: the folder of `file`. */
  dir?: string;
  /** Whether a host path exists (e.g. fs.existsSync); without it, existence is not checked. */
  exists?: (absolutePath: string) => boolean;
}

export interface ParseSpecResult {
  /** The validated spec; undefined when there is any error. */
  spec?: Spec;
  /** Every problem found, in document order. */
  diagnostics: SpecDiagnostic[];
}

export function parseSpec(text: string, options: ParseSpecOptions = {}): ParseSpecResult {
  return parseSpecFrom(parseYaml(text), options);
}

/** The same, from YAML already parsed (the language server parses once per document version). */
export function parseSpecFrom(parsed: ParsedYaml, options: ParseSpecOptions = {}): ParseSpecResult {
  const diagnostics = [...parsed.diagnostics];
  const ctx = {
    text: parsed.text,
    lines: parsed.lines,
    diagnostics,
    dir: options.dir
      ? path.resolve(options.dir)
      : options.file
        ? path.dirname(path.resolve(options.file))
        : undefined,
    exists: options.exists,
  };
  let spec: Spec | undefined;
  try {
    spec = readSpec(ctx, parsed.doc.contents, options.file);
  } catch (e) {
    // A validator bug must not take the editor down; say where it happened instead.
    diagnostics.push({
      severity: 'error',
      code: 'internal',
      message: `Strata could not check this spec (internal error: ${e instanceof Error ? e.message : String(e)}); please report it`,
      range: parsed.lines.range(0, 0),
    });
  }
  const sorted = sortDiagnostics(withoutEchoesOfSyntaxErrors(diagnostics, parsed.diagnostics.length));
  return { ...(spec && !hasErrors(sorted) ? { spec } : {}), diagnostics: sorted };
}

/**
 * Where YAML is broken, the validator sees what the parser made of it (an unclosed quote swallows
 * the lines below it). Complaints about such a node only repeat the syntax error: drop those.
 */
function withoutEchoesOfSyntaxErrors(list: SpecDiagnostic[], syntaxCount: number): SpecDiagnostic[] {
  const syntax = list.slice(0, syntaxCount).filter((d) => d.severity === 'error');
  if (syntax.length === 0) return list;
  const echoes = (d: SpecDiagnostic) =>
    d.range.end.offset > d.range.start.offset &&
    syntax.some(
      (e) => d.range.start.offset <= e.range.start.offset && e.range.start.offset <= d.range.end.offset,
    );
  return [...list.slice(0, syntaxCount), ...list.slice(syntaxCount).filter((d) => !echoes(d))];
}

// ---- Canonical form ---------------------------------------------------------------------------
// What a spec means, without layout, comments or source ranges: the lock records its digest, and
// a changed digest means the lock is stale. Keys are sorted; defaults are written out.

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[k];
      if (v !== undefined) out[k] = sortKeys(v);
    }
    return out;
  }
  return value;
}

/** A step without its source range, as it goes into cache keys and the spec digest. */
export function canonicalStep(step: Step): Record<string, unknown> {
  const { range: _range, ...rest } = step;
  return sortKeys(rest) as Record<string, unknown>;
}

function canonicalWorkload(w: Workload): Record<string, unknown> {
  const { range: _range, ...rest } = w;
  return sortKeys(rest) as Record<string, unknown>;
}

/**
 * The image-relevant part of a spec, canonical: what strata.lock's spec digest covers. Mounts and
 * workloads are left out on purpose: they change how the image is run, not its bits, so editing a
 * workload does not make the lock stale.
 */
export function canonicalSpec(spec: Spec): Record<string, unknown> {
  return sortKeys({
    strata: spec.strata,
    from: spec.from,
    platform: spec.platform,
    env: spec.env,
    workdir: spec.workdir,
    user: spec.user,
    entrypoint: spec.entrypoint,
    cmd: spec.cmd,
    labels: spec.labels,
    steps: spec.steps.map(canonicalStep),
  }) as Record<string, unknown>;
}

/** Everything the spec says, canonical, including name, mounts and workloads (for run records). */
export function canonicalSpecFull(spec: Spec): Record<string, unknown> {
  const { ranges: _ranges, steps, mounts, workloads, ...rest } = spec;
  return sortKeys({
    ...rest,
    steps: steps.map(canonicalStep),
    mounts: mounts.map(({ range: _r, ...m }) => m),
    workloads: Object.fromEntries(Object.entries(workloads).map(([k, w]) => [k, canonicalWorkload(w)])),
  }) as Record<string, unknown>;
}

/**
 * A short digest (16 hex) of each top-level field of canonicalSpec except steps (which the lock
 * compares one by one): strata.lock's spec.fields, so that a stale lock names what changed.
 */
export function specFieldDigests(spec: Spec): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(canonicalSpec(spec))) {
    if (k === 'steps' || v === undefined) continue;
    out[k] = createHash('sha256').update(JSON.stringify(v)).digest('hex').slice(0, 16);
  }
  return out;
}

function sha256(text: string): string {
  return `sha256:${createHash('sha256').update(text).digest('hex')}`;
}

/** sha256 of the canonical JSON of the whole spec: strata.lock's `spec` field. */
export function specDigest(spec: Spec): string {
  return sha256(JSON.stringify(canonicalSpec(spec)));
}

/** sha256 of the canonical JSON of one step: strata.lock's per-step `definition` field. */
export function stepDigest(step: Step): string {
  return sha256(JSON.stringify(canonicalStep(step)));
}

/** `strata.yaml:14:5: step 2 (apt)`, for engine messages about a step. */
export function describeStep(file: string, spec: Spec, step: Step): string {
  const index = spec.steps.indexOf(step);
  return `${file}:${step.range.start.line + 1}:${step.range.start.character + 1}: step ${index + 1} (${step.kind})`;
}
