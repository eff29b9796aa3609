// Document symbols (the outline): top-level fields, each step and each workload.
import type { Spec, Step } from './model';
import type { SourceRange } from './text';
import type { ParsedYaml } from './yamlSource';
import { isMap, isPair, isScalar } from 'yaml';

export interface SpecSymbol {
  name: string;
  detail?: string;
  kind: 'field' | 'step' | 'workload' | 'mount' | 'section';
  range: SourceRange;
  selectionRange: SourceRange;
  children?: SpecSymbol[];
}

export function stepLabel(step: Step): string {
  switch (step.kind) {
    case 'apt':
    case 'pip':
      return `${step.kind}: ${step.packages.join(', ')}`;
    case 'copy':
      return `copy: ${step.src} → ${step.dest}`;
    case 'run':
      return `run: ${step.command.split('\n')[0]}`;
  }
}

function clip(text: string, max = 60): string {
  return text.length > max ? text.slice(0, max - 1) + '…' : text;
}

/** Symbols from the validated model when there is one, else the top-level keys alone. */
export function documentSymbols(parsed: ParsedYaml, spec: Spec | undefined): SpecSymbol[] {
  const out: SpecSymbol[] = [];
  const root = parsed.doc.contents;
  if (!isMap(root)) return out;
  for (const pair of root.items) {
    if (!isPair(pair) || !isScalar(pair.key) || !pair.key.range) continue;
    const key = String(pair.key.value);
    const keyRange = parsed.lines.range(pair.key.range[0], pair.key.range[1]);
    const end = (pair.value as { range?: number[] } | null)?.range?.[1] ?? pair.key.range[1];
    let stop = end;
    while (stop > pair.key.range[0] && /\s/.test(parsed.text[stop - 1] ?? '')) stop--;
    const range = parsed.lines.range(pair.key.range[0], stop);
    const sym: SpecSymbol = { name: key, kind: 'field', range, selectionRange: keyRange };
    if (key === 'steps' && spec) {
      sym.kind = 'section';
      sym.children = spec.steps.map((s, i) => ({
        name: `${i + 1}. ${clip(stepLabel(s))}`,
        kind: 'step',
        detail: s.kind,
        range: s.range,
        selectionRange: s.range,
      }));
    } else if (key === 'workloads' && spec) {
      sym.kind = 'section';
      sym.children = Object.values(spec.workloads).map((w) => ({
        name: w.name,
        kind: 'workload',
        detail: clip(w.command.join(' ')),
        range: w.range,
        selectionRange: w.range,
      }));
    } else if (key === 'mounts' && spec) {
      sym.kind = 'section';
      sym.children = spec.mounts.map((m) => ({
        name: `${m.src} → ${m.dest}`,
        kind: 'mount',
        detail: m.readonly ? 'read-only' : 'read-write',
        range: m.range,
        selectionRange: m.range,
      }));
    } else if (isScalar(pair.value)) {
      sym.detail = clip(String(pair.value.value ?? ''));
    }
    out.push(sym);
  }
  return out;
}
