// Reads `steps:`: an ordered list, each item one layer of one kind (apt, pip, copy, run).
import * as path from 'node:path';
import { isMap, isScalar, isSeq, type YAMLSeq } from 'yaml';
import { suggestKey } from '../suggest';
import { STEP_KINDS, STEP_OPTIONS, COPY_KEYS, NETWORK_MODES, type Step, type StepKind } from '../model';
import { parseApt, parsePip } from '../packages';
import { checkHostPath } from '../values';
import { describeNode, keyName, pairSpan } from '../yamlSource';
import { adviseRunStep } from './advice';
import {
  checkDest,
  isNull,
  rangeOf,
  readEnum,
  readMap,
  readText,
  replaceWith,
  report,
  spanOf,
  type MapEntry,
  type ReadContext,
} from './context';

export function readSteps(ctx: ReadContext, node: unknown, at: [number, number]): Step[] {
  if (isNull(node)) return [];
  if (!isSeq(node)) {
    report(
      ctx,
      'error',
      'wrong-type',
      spanOf(node, at),
      `steps should be a list, each item starting with '- ', not ${describeNode(node)}`,
    );
    return [];
  }
  const steps: Step[] = [];
  for (const item of (node as YAMLSeq).items) {
    const step = readStep(ctx, item, spanOf(node, at));
    if (step) steps.push(step);
  }
  return steps;
}

const allStepKeys = [...STEP_KINDS, ...new Set(Object.values(STEP_OPTIONS).flat())];

function article(word: string): string {
  return /^[aeiou]/.test(word) ? 'an' : 'a';
}

function readStep(ctx: ReadContext, item: unknown, at: [number, number]): Step | undefined {
  const span = spanOf(item, at);
  if (!isMap(item)) {
    const text = isScalar(item) && typeof item.value === 'string' ? item.value : undefined;
    const looksLikeRun = text !== undefined && /\s/.test(text);
    report(
      ctx,
      'error',
      'wrong-type',
      span,
      `a step should be one of apt:, pip:, copy:, run:, not ${describeNode(item)}` +
        (looksLikeRun ? `; for a shell command write '- run: ${text}'` : ''),
      looksLikeRun
        ? [
            {
              title: 'Make it a run step',
              edits: [{ start: span[0], end: span[0], newText: 'run: ' }],
              preferred: true,
            },
          ]
        : undefined,
    );
    return undefined;
  }
  const kinds = item.items
    .map((p) => keyName(p))
    .filter((k): k is StepKind => (STEP_KINDS as readonly string[]).includes(k ?? ''));
  if (kinds.length === 0) {
    // Maybe a typo of a kind: say so on the key, with a rename fix.
    const first = item.items[0];
    const key = first ? keyName(first) : undefined;
    const guess = key ? suggestKey(key, STEP_KINDS) : undefined;
    const keySpan = first ? spanOf(first.key, pairSpan(first)) : span;
    report(
      ctx,
      'error',
      guess ? 'unknown-key' : 'missing-step-kind',
      guess ? keySpan : span,
      guess
        ? `unknown step kind '${key}'; did you mean '${guess}'?`
        : `a step needs one of apt:, pip:, copy: or run:${key ? ` (found '${key}')` : ''}`,
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
    return undefined;
  }
  if (kinds.length > 1) {
    report(
      ctx,
      'error',
      'several-step-kinds',
      span,
      `one step per list item: this item has ${kinds.join(' and ')}; start each with its own '- ' (each step is one layer)`,
    );
    return undefined;
  }
  const kind = kinds[0];
  // Options of other kinds are read as known keys, then refused with the reason.
  const entries = readMap(ctx, item, `${article(kind)} ${kind} step`, allStepKeys, span);
  if (!entries) return undefined;
  for (const [key, e] of entries) {
    if (key === kind || STEP_OPTIONS[kind].includes(key)) continue;
    const owners = STEP_KINDS.filter((k) => STEP_OPTIONS[k].includes(key));
    report(
      ctx,
      'error',
      'misplaced-key',
      e.keySpan,
      `'${key}' applies to ${owners.join(' and ')} steps only, not to ${kind} steps`,
    );
  }
  const range = rangeOf(ctx, span);
  const main = entries.get(kind)!;
  switch (kind) {
    case 'apt':
      return { kind, packages: readPackages(ctx, main, 'apt'), range };
    case 'pip': {
      const indexUrl = readIndexUrl(ctx, entries.get('index-url'));
      return { kind, packages: readPackages(ctx, main, 'pip'), ...(indexUrl ? { indexUrl } : {}), range };
    }
    case 'copy':
      return readCopy(ctx, main, range);
    case 'run': {
      const command = readRunCommand(ctx, main);
      const networkEntry = entries.get('network');
      const network = networkEntry
        ? readEnum(ctx, networkEntry.value, 'network', NETWORK_MODES, networkEntry.keySpan)
        : 'host';
      if (command === undefined) return undefined;
      adviseRunStep(ctx, command, main.span, network ?? 'host');
      return { kind, command, network: network ?? 'host', range };
    }
  }
}

/** Package lists: a YAML list, or one text of space-separated names. */
function readPackages(ctx: ReadContext, entry: MapEntry, kind: 'apt' | 'pip'): string[] {
  const items: { value: string; span: [number, number] }[] = [];
  if (isSeq(entry.value)) {
    for (const it of entry.value.items) {
      const s = spanOf(it, entry.span);
      const text = readText(ctx, it, `a ${kind} package`, s);
      if (text !== undefined) items.push({ value: text.trim(), span: s });
    }
  } else if (isScalar(entry.value) && typeof entry.value.value === 'string') {
    // `apt: python3 make`: one text; positions of each word are exact for plain scalars only.
    const text = entry.value.value;
    const plain = entry.value.type === 'PLAIN';
    const re = /\S+/g;
    for (let m = re.exec(text); m; m = re.exec(text)) {
      const start = plain ? entry.span[0] + m.index : entry.span[0];
      items.push({ value: m[0], span: plain ? [start, start + m[0].length] : entry.span });
    }
  } else {
    report(
      ctx,
      'error',
      'wrong-type',
      entry.span,
      `${kind} takes a list of packages, e.g. [${kind === 'apt' ? 'python3-numpy, make' : 'numpy==1.26.4'}], not ${describeNode(entry.value)}`,
    );
    return [];
  }
  if (items.length === 0) {
    report(
      ctx,
      'warning',
      'empty-step',
      entry.keySpan,
      `this ${kind} step installs nothing; remove it or list packages`,
    );
  }
  const seen = new Set<string>();
  const out: string[] = [];
  for (const { value, span } of items) {
    if (kind === 'apt') {
      const r = parseApt(value);
      if ('error' in r)
        report(ctx, 'error', 'bad-package', span, r.error, r.fix ? replaceWith(span, r.fix) : undefined);
      else if (seen.has(r.pkg.name))
        report(ctx, 'warning', 'duplicate-package', span, `'${r.pkg.name}' is listed twice in this step`);
      else seen.add(r.pkg.name);
    } else {
      const r = parsePip(value);
      if ('error' in r)
        report(ctx, 'error', 'bad-package', span, r.error, r.fix ? replaceWith(span, r.fix) : undefined);
      else {
        const key = r.req.name.toLowerCase().replace(/[-_.]+/g, '-');
        if (seen.has(key))
          report(ctx, 'warning', 'duplicate-package', span, `'${r.req.name}' is listed twice in this step`);
        seen.add(key);
      }
    }
    out.push(value);
  }
  return out;
}

function readIndexUrl(ctx: ReadContext, entry: MapEntry | undefined): string | undefined {
  if (!entry) return undefined;
  const url = readText(ctx, entry.value, 'index-url', entry.keySpan);
  if (url === undefined) return undefined;
  if (!/^https?:\/\/[^\s/]+/.test(url)) {
    report(
      ctx,
      'error',
      'bad-value',
      entry.span,
      `index-url '${url}' should be an http(s) URL, e.g. https://pypi.org/simple`,
    );
    return undefined;
  }
  if (url.startsWith('http://') && !/^http:\/\/(localhost|127\.|\[::1\])/.test(url)) {
    report(
      ctx,
      'warning',
      'insecure-url',
      entry.span,
      `index-url uses plain http: anyone on the path can change the packages; use https`,
    );
  }
  return url;
}

function readCopy(ctx: ReadContext, entry: MapEntry, range: Step['range']): Step | undefined {
  if (isScalar(entry.value) && typeof entry.value.value === 'string') {
    report(
      ctx,
      'error',
      'wrong-type',
      entry.span,
      `copy takes { src: ./path, dest: /path/in/image }, not a single path`,
      [
        {
          title: 'Use { src, dest }',
          edits: [
            {
              start: entry.span[0],
              end: entry.span[1],
              newText: `{ src: ${entry.value.value}, dest: /opt/${path.basename(entry.value.value) || 'app'} }`,
            },
          ],
        },
      ],
    );
    return undefined;
  }
  const misspelt = new Set<string>();
  const fields = readMap(ctx, entry.value, 'copy', COPY_KEYS, entry.span, misspelt);
  if (!fields) return undefined;
  const src = fields.get('src');
  const dest = fields.get('dest');
  if ((!src && !misspelt.has('src')) || (!dest && !misspelt.has('dest'))) {
    report(
      ctx,
      'error',
      'missing-key',
      entry.keySpan,
      `copy needs ${!src ? 'src: (a path relative to the spec)' : ''}${!src && !dest ? ' and ' : ''}${!dest ? 'dest: (an absolute path in the image)' : ''}`,
    );
  }
  const srcText = src ? readText(ctx, src.value, 'copy src', src.keySpan) : undefined;
  const destText = dest ? readText(ctx, dest.value, 'copy dest', dest.keySpan) : undefined;
  if (srcText !== undefined && src) checkHostSource(ctx, srcText, src.span, 'copy src', 'error');
  if (destText !== undefined && dest) {
    checkDest(ctx, destText, dest.span, 'copy dest');
  }
  if (srcText === undefined || destText === undefined) return undefined;
  return { kind: 'copy', src: srcText, dest: destText, range };
}

/** A host path relative to the spec: syntax, and existence when the context can check it. */
export function checkHostSource(
  ctx: ReadContext,
  text: string,
  span: [number, number],
  what: string,
  missingSeverity: 'error' | 'warning',
): void {
  const r = checkHostPath(text, what);
  if (r.error) report(ctx, 'error', 'bad-path', span, r.error);
  else if (r.warning) report(ctx, 'warning', 'path-outside', span, r.warning);
  if (r.error || !ctx.dir || !ctx.exists) return;
  const abs = path.resolve(ctx.dir, text);
  if (!ctx.exists(abs)) {
    report(
      ctx,
      missingSeverity,
      'missing-path',
      span,
      missingSeverity === 'error'
        ? `${what} '${text}' does not exist (looked for ${abs})`
        : `${what} '${text}' does not exist yet (looked for ${abs}); runs fail until it does`,
    );
  }
}

function readRunCommand(ctx: ReadContext, entry: MapEntry): string | undefined {
  if (isSeq(entry.value)) {
    report(
      ctx,
      'error',
      'wrong-type',
      entry.span,
      `run takes one shell command as text; for several lines write 'run: |' and the lines below it, indented`,
    );
    return undefined;
  }
  const text = readText(ctx, entry.value, 'run', entry.keySpan);
  if (text !== undefined && text.trim() === '') {
    report(ctx, 'error', 'empty-value', entry.keySpan, 'this run step has no command');
    return undefined;
  }
  return text;
}
