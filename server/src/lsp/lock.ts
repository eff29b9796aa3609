// strata.lock as the language server sees it: validated against schemas/strata-lock.schema.json
// (the format the build engine writes, engine/lock/), and compared with the spec to say whether
// it is stale and which fields changed. Pure: the caller reads the file.
import lockSchema from '../../../schemas/strata-lock.schema.json';
import type { SpecDiagnostic, SpecFix } from './diagnostic';
import { Commands } from './commands';
import type { Spec } from './model';
import { checkAgainstSchema, type JsonSchema } from './schemaCheck';
import { specDigest, specFieldDigests, stepDigest } from './spec';
import type { LineIndex } from './text';
import { rangeOf, report, type ReadContext } from './validate/context';
import { parseYaml } from './yamlSource';

export interface LockLayerView {
  digest: string;
  diffId: string;
  size: number;
}

/** The parts of a lock the editor uses (hover, staleness, pinning). */
export interface LockView {
  lockVersion: number;
  specDigest: string;
  fields: Record<string, string>;
  platform: string;
  epoch: number;
  base: { ref: string; digest?: string; layers: LockLayerView[] };
  steps: {
    step: string;
    definition: string;
    key: string;
    layer: LockLayerView;
    apt?: { name: string; version: string }[];
    pip?: { name: string; version: string; sha256?: string }[];
  }[];
  image: { config: string; manifest: string };
}

export const LOCK_SCHEMA = lockSchema as JsonSchema;

/** Validates a lock's text; `lock` is present when it has no errors. */
export function parseLockText(text: string): { lock?: LockView; diagnostics: SpecDiagnostic[] } {
  const parsed = parseYaml(text);
  const ctx: ReadContext = { text, lines: parsed.lines, diagnostics: [...parsed.diagnostics] };
  if (parsed.doc.contents === null) {
    report(
      ctx,
      'error',
      'empty-lock',
      [0, 0],
      'strata.lock is empty; delete it and build again to write a new one',
    );
    return { diagnostics: ctx.diagnostics };
  }
  checkAgainstSchema(ctx, LOCK_SCHEMA, LOCK_SCHEMA, parsed.doc.contents, '', [0, 0]);
  for (const d of ctx.diagnostics) {
    if (d.code !== 'yaml-syntax')
      d.message += ' (strata.lock is written by strata build: rebuild rather than edit it)';
  }
  if (ctx.diagnostics.some((d) => d.severity === 'error')) return { diagnostics: ctx.diagnostics };
  const raw = (parsed.doc.contents as { toJSON(): unknown }).toJSON() as {
    lockVersion: number;
    spec: { digest: string; fields?: Record<string, string> };
    platform: string;
    epoch: number;
    base: { ref: string; digest?: string; layers?: LockLayerView[] };
    steps: LockView['steps'];
    image: LockView['image'];
  };
  return {
    lock: {
      lockVersion: raw.lockVersion,
      specDigest: raw.spec.digest,
      fields: raw.spec.fields ?? {},
      platform: raw.platform,
      epoch: raw.epoch,
      base: {
        ref: raw.base.ref,
        ...(raw.base.digest ? { digest: raw.base.digest } : {}),
        layers: raw.base.layers ?? [],
      },
      steps: raw.steps.map((s) => ({
        ...s,
        apt: s.apt?.map((p) => ({ ...p, version: String(p.version) })),
        pip: s.pip?.map((p) => ({ ...p, version: String(p.version) })),
      })),
      image: raw.image,
    },
    diagnostics: ctx.diagnostics,
  };
}

/** What the server knows about the lock beside a spec. */
export type LockState =
  { kind: 'missing' } | { kind: 'invalid'; message: string } | { kind: 'present'; lock: LockView };

export interface LockComparison {
  state: 'none' | 'current' | 'stale' | 'invalid';
  /** Field names and step numbers that changed, for status texts. */
  changed: string[];
  diagnostics: SpecDiagnostic[];
}

/** Compares a valid spec with its lock: information when there is none, warnings where stale. */
export function compareWithLock(
  spec: Spec,
  source: { text: string; lines: LineIndex },
  specUri: string,
  state: LockState,
): LockComparison {
  const ctx: ReadContext = { text: source.text, lines: source.lines, diagnostics: [] };
  const fromRange = spec.ranges.from;
  const anchor: [number, number] = fromRange ? [fromRange.start.offset, fromRange.end.offset] : [0, 0];
  const build: SpecFix = {
    title: 'Build and lock',
    command: { command: Commands.build, arguments: [specUri] },
    preferred: true,
  };
  if (state.kind === 'missing') {
    report(
      ctx,
      'information',
      'no-lock',
      anchor,
      'no strata.lock yet: build once to pin the base image digest, every layer and every package version, so that others get the same bits',
      [build],
    );
    return { state: 'none', changed: [], diagnostics: ctx.diagnostics };
  }
  if (state.kind === 'invalid') {
    report(
      ctx,
      'warning',
      'bad-lock',
      anchor,
      `strata.lock cannot be read (${state.message}); build again to rewrite it`,
      [build],
    );
    return { state: 'invalid', changed: [], diagnostics: ctx.diagnostics };
  }
  const lock = state.lock;
  if (specDigest(spec) === lock.specDigest) return { state: 'current', changed: [], diagnostics: [] };
  const changed: string[] = [];
  const now = specFieldDigests(spec);
  const fix: SpecFix[] = [{ ...build, title: 'Build and update strata.lock' }];
  const stale =
    ' since strata.lock was written: the next build updates the lock, and strata build --locked refuses until then';
  for (const key of [...new Set([...Object.keys(now), ...Object.keys(lock.fields)])].sort()) {
    if (now[key] === lock.fields[key]) continue;
    changed.push(key);
    const r = spec.ranges[key as keyof Spec['ranges']];
    const span: [number, number] = r ? [r.start.offset, r.end.offset] : anchor;
    const what = !(key in now)
      ? `'${key}' was removed`
      : !(key in lock.fields)
        ? `'${key}' was added`
        : `'${key}' changed`;
    report(ctx, 'warning', 'lock-stale', span, `${what}${stale}`, fix);
  }
  spec.steps.forEach((step, i) => {
    const locked = lock.steps[i];
    if (locked && locked.definition === stepDigest(step)) return;
    changed.push(`step ${i + 1}`);
    const span: [number, number] = [step.range.start.offset, step.range.end.offset];
    report(
      ctx,
      'warning',
      'lock-stale',
      span,
      locked ? `step ${i + 1} changed (the lock has ${locked.step})${stale}` : `step ${i + 1} is new${stale}`,
      fix,
    );
  });
  if (lock.steps.length > spec.steps.length) {
    changed.push('steps removed');
    const r = spec.ranges.steps;
    const span: [number, number] = r ? [r.start.offset, Math.min(r.end.offset, r.start.offset + 5)] : anchor;
    const gone = lock.steps.slice(spec.steps.length).map((s) => s.step);
    report(
      ctx,
      'warning',
      'lock-stale',
      span,
      `${gone.length} step${gone.length > 1 ? 's' : ''} removed (${gone.join('; ')})${stale}`,
      fix,
    );
  }
  if (changed.length === 0) {
    report(
      ctx,
      'warning',
      'lock-stale',
      anchor,
      `strata.lock was made from another version of this spec${stale}`,
      fix,
    );
    changed.push('spec');
  }
  for (const d of ctx.diagnostics) d.range = rangeOf(ctx, [d.range.start.offset, d.range.end.offset]);
  return { state: 'stale', changed, diagnostics: ctx.diagnostics };
}
