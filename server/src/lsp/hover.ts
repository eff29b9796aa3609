// Hover: the schema's description of the field under the cursor; for `from:`, what the lock pinned.
import { isScalar } from 'yaml';
import type { LockView } from './lock';
import { locate } from './locate';
import { LOCK_SCHEMA } from './lock';
import { fieldDoc, SPEC_SCHEMA } from './specSchema';
import { formatBytes } from './values';
import type { ParsedYaml } from './yamlSource';

export interface HoverResult {
  /** Markdown. */
  contents: string;
  span: [number, number];
}

function examplesText(examples: unknown[] | undefined): string {
  const scalars = (examples ?? []).filter((e) => typeof e === 'string' || typeof e === 'number');
  return scalars.length
    ? `\n\nExamples: ${scalars
        .slice(0, 3)
        .map((e) => `\`${String(e)}\``)
        .join(', ')}`
    : '';
}

export function hoverSpec(parsed: ParsedYaml, offset: number, lock?: LockView): HoverResult | undefined {
  const at = locate(parsed.doc, offset);
  if (!at) return undefined;
  const path = at.onKey ? at.path : at.path;
  if (path.length === 0) return undefined;
  // On a value, describe the field it belongs to; on a list item, the list's field.
  let fieldPath = path;
  while (fieldPath.length && typeof fieldPath[fieldPath.length - 1] === 'number')
    fieldPath = fieldPath.slice(0, -1);
  const doc = fieldDoc(SPEC_SCHEMA, fieldPath);
  const name = fieldPath.filter((p) => typeof p === 'string').join('.');
  let text = doc?.description ? `**${name}**: ${doc.description}${examplesText(doc.examples)}` : '';
  if (fieldPath.length === 1 && fieldPath[0] === 'from')
    text += lockedBase(lock, at.onKey ? undefined : scalarValue(at.node));
  const [section, index, kind] = path;
  if (section === 'steps' && typeof index === 'number' && (kind === 'apt' || kind === 'pip') && !at.onKey) {
    text += lockedPackage(lock, index, kind, scalarValue(at.node));
  }
  if (!text) return undefined;
  return { contents: text, span: at.span };
}

function scalarValue(node: unknown): string | undefined {
  return isScalar(node) && typeof node.value === 'string' ? node.value : undefined;
}

/** For a package in an apt or pip step: the version strata.lock recorded for it. */
function lockedPackage(
  lock: LockView | undefined,
  index: number,
  kind: 'apt' | 'pip',
  written: string | undefined,
): string {
  if (!lock || written === undefined) return '';
  const name = (kind === 'apt' ? written.split(/[=:/]/)[0] : written.split(/[\s[=<>!~;@]/)[0]).toLowerCase();
  const norm = (n: string) => (kind === 'pip' ? n.toLowerCase().replace(/[-_.]+/g, '-') : n);
  const pins = lock.steps[index]?.[kind] ?? [];
  const pin = pins.find((p) => norm(p.name) === norm(name));
  if (!pin) return `\n\n_${name} is not in strata.lock for this step (yet)._`;
  const sha = (pin as { sha256?: string }).sha256;
  const hash = sha ? `, sha256 \`${sha.slice(0, 12)}…\`` : '';
  return `\n\n**Locked**: \`${pin.name}\` ${pin.version}${hash}`;
}

function lockedBase(lock: LockView | undefined, written: string | undefined): string {
  if (!lock) return '\n\n_Not locked yet: build once and strata.lock records the digest._';
  const size = lock.base.layers.reduce((n, l) => n + l.size, 0);
  const date = new Date(lock.epoch * 1000).toISOString().slice(0, 10);
  const lines = [
    '',
    '',
    `**Locked** (strata.lock): \`${lock.base.ref}\``,
    lock.base.digest ? `- digest \`${lock.base.digest}\`` : '- no base image (scratch)',
    `- ${lock.base.layers.length} layer${lock.base.layers.length === 1 ? '' : 's'}, ${formatBytes(size)} compressed, platform ${lock.platform}`,
    `- file times clamped to ${date} (epoch ${lock.epoch})`,
  ];
  if (written !== undefined && written !== lock.base.ref)
    lines.push(`- the spec now says \`${written}\`: the lock is stale`);
  return lines.join('\n');
}

export function hoverLock(parsed: ParsedYaml, offset: number): HoverResult | undefined {
  const at = locate(parsed.doc, offset);
  if (!at || at.path.length === 0) return undefined;
  let fieldPath = at.path;
  while (fieldPath.length && typeof fieldPath[fieldPath.length - 1] === 'number')
    fieldPath = fieldPath.slice(0, -1);
  const doc = fieldDoc(LOCK_SCHEMA, fieldPath);
  if (!doc?.description) return undefined;
  return { contents: `**${fieldPath.join('.')}**: ${doc.description}`, span: at.span };
}
