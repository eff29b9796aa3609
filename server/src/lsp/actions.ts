// Code actions: the fixes diagnostics carry (rename an unknown key, insert a missing field, build
// and lock), plus "pin to the locked digest" on `from:`.
import type { SpecDiagnostic, SpecFix } from './diagnostic';
import type { LockView } from './lock';
import type { Spec } from './model';

export interface SpecAction {
  title: string;
  kind: 'quickfix' | 'refactor.rewrite';
  fix: SpecFix;
  /** The diagnostic the action fixes, if any. */
  diagnostic?: SpecDiagnostic;
}

function overlaps(aStart: number, aEnd: number, bStart: number, bEnd: number): boolean {
  return aStart <= bEnd && bStart <= aEnd;
}

export function codeActions(
  diagnostics: SpecDiagnostic[],
  start: number,
  end: number,
  spec: Spec | undefined,
  lock: LockView | undefined,
  fromText: { value: string; span: [number, number] } | undefined,
): SpecAction[] {
  const out: SpecAction[] = [];
  for (const d of diagnostics) {
    if (!d.fixes || !overlaps(d.range.start.offset, d.range.end.offset, start, end)) continue;
    for (const fix of d.fixes) out.push({ title: fix.title, kind: 'quickfix', fix, diagnostic: d });
  }
  // Pin `from:` to the digest strata.lock resolved, keeping the tag for readers.
  if (spec && lock?.base.digest && fromText && overlaps(fromText.span[0], fromText.span[1], start, end)) {
    const ref = fromText.value;
    if (!ref.includes('@') && ref !== 'scratch' && ref === lock.base.ref) {
      out.push({
        title: `Pin to the locked digest (${lock.base.digest.slice(0, 19)}…)`,
        kind: 'refactor.rewrite',
        fix: {
          title: 'Pin to the locked digest',
          edits: [{ start: fromText.span[0], end: fromText.span[1], newText: `${ref}@${lock.base.digest}` }],
        },
      });
    }
  }
  return out;
}
