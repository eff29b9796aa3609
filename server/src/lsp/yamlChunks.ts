// Incremental parsing for large specs. The `yaml` package parses about 20 lines per millisecond
// here, so a 2,000-line spec costs ~100 ms per keystroke; too slow to answer within 50 ms. A spec
// is a mapping whose top-level entries start at column 0, and the long sections (steps:,
// workloads:) are lists or mappings whose items start at one indentation. Each such piece is a
// YAML document of its own (YAML allows an indented root), so each is parsed alone and cached by
// its text; an edit re-parses only the piece it touches, and the pieces are stitched into one tree
// with their offsets shifted into place.
//
// Anything unusual (directives, `---`, anchors and aliases, a root that is not a mapping, tabs,
// syntax errors or warnings in any piece) falls back to parsing the whole text, so the result is
// always what a whole parse gives; the unit tests compare the two on generated documents.
import {
  isMap,
  isPair,
  isScalar,
  isSeq,
  Pair,
  parseDocument,
  YAMLMap,
  YAMLSeq,
  type Node,
  type Scalar,
} from 'yaml';

const PARSE_OPTIONS = { prettyErrors: false, uniqueKeys: false, strict: false } as const;
/** Sections shorter than this are parsed as one piece: splitting them gains nothing. */
const SPLIT_MIN_LINES = 40;
/** About how many lines each piece of a split section holds. */
const PIECE_LINES = 24;

interface Piece {
  start: number;
  text: string;
}

interface CachedPiece {
  /** The parsed root of the piece, with offsets as of `base`. */
  root: Node | null;
  base: number;
}

/** Moves every range in a tree by `delta` (pairs have none; their key and value nodes do). */
function shift(node: unknown, delta: number): void {
  if (delta === 0 || !node || typeof node !== 'object') return;
  if (isPair(node)) {
    shift(node.key, delta);
    shift(node.value, delta);
    return;
  }
  const n = node as Node;
  if (n.range) n.range = [n.range[0] + delta, n.range[1] + delta, n.range[2] + delta];
  if (isMap(n) || isSeq(n)) for (const item of n.items) shift(item, delta);
}

interface Line {
  start: number;
  end: number;
  /** Leading spaces. */
  indent: number;
  /** Blank or comment only. */
  blank: boolean;
  first: string;
}

function splitLines(text: string): Line[] {
  const out: Line[] = [];
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    end = end < 0 ? text.length : end + 1;
    let i = start;
    while (text[i] === ' ') i++;
    const first = text[i] ?? '';
    out.push({
      start,
      end,
      indent: i - start,
      blank: first === '' || first === '\n' || first === '\r' || first === '#',
      first,
    });
    start = end;
  }
  return out;
}

/** Why not to split this text, or undefined when pieces are safe. */
function unsafe(text: string): boolean {
  // Anchors and aliases reach across pieces; directives and markers change the document.
  return /(^|[\s[{,])[&*!][^\s]/m.test(text) || /^(---|\.\.\.|%)/m.test(text) || text.includes('\t');
}

export class YamlPieces {
  private cache = new Map<string, CachedPiece>();

  /** The tree of `text`, or undefined when it must be parsed whole. */
  parse(text: string): { contents: Node | null } | undefined {
    if (text.length < 4096 || unsafe(text)) return undefined;
    const lines = splitLines(text);
    // Top-level entries: lines at column 0 that start a key.
    const tops: number[] = [];
    for (let i = 0; i < lines.length; i++) {
      const l = lines[i];
      if (l.blank || l.indent > 0) continue;
      if (!/[A-Za-z0-9_"']/.test(l.first)) return undefined; // a list, flow or complex key at the root
      tops.push(i);
    }
    if (tops.length === 0) return undefined;
    const next = new Map<string, CachedPiece>();
    const root = new YAMLMap();
    for (let t = 0; t < tops.length; t++) {
      const from = t === 0 ? 0 : tops[t];
      const to = t + 1 < tops.length ? tops[t + 1] : lines.length;
      const items = this.section(text, lines, from, tops[t], to, next);
      if (!items) return undefined;
      root.items.push(...items);
    }
    this.cache = next;
    const first = root.items[0];
    const last = root.items[root.items.length - 1];
    const start = (first?.key as Node | null)?.range?.[0] ?? 0;
    const endNode = (last?.value as Node | null) ?? (last?.key as Node | null);
    const end = endNode?.range?.[1] ?? start;
    root.range = [start, end, text.length];
    return { contents: root };
  }

  /** The pairs of one top-level section (lines [from, to), its key on line `keyLine`). */
  private section(
    text: string,
    lines: Line[],
    from: number,
    keyLine: number,
    to: number,
    next: Map<string, CachedPiece>,
  ) {
    const start = lines[from].start;
    const end = lines[to - 1].end;
    const body = lines.slice(keyLine + 1, to).filter((l) => !l.blank);
    const keyText = text.slice(lines[keyLine].start, lines[keyLine].end);
    const blockValue = /^[^#]*:\s*(#.*)?\r?\n?$/.test(keyText) && !/^\s*["']/.test(keyText);
    if (!blockValue || to - keyLine < SPLIT_MIN_LINES || body.length === 0) {
      const r = this.piece({ start, text: text.slice(start, end) }, next);
      if (!r || !isMap(r)) return undefined;
      return r.items;
    }
    // Split the block value at its items: all at the indentation of its first line.
    const indent = body[0].indent;
    if (indent === 0 || body.some((l) => l.indent < indent)) return undefined;
    const sequence = body[0].first === '-';
    const head = this.piece({ start, text: text.slice(start, lines[keyLine].end) }, next);
    if (!head || !isMap(head) || head.items.length !== 1) return undefined;
    const collection = sequence ? new YAMLSeq() : new YAMLMap();
    let pieceStart = keyLine + 1;
    for (let i = keyLine + 2; i <= to; i++) {
      const l = lines[i];
      // Items are grouped into pieces of about PIECE_LINES lines: one parse call per item costs more.
      const boundary =
        i === to ||
        (i - pieceStart >= PIECE_LINES &&
          !l.blank &&
          l.indent === indent &&
          (sequence ? l.first === '-' : l.first !== '-'));
      if (!boundary) continue;
      const p = this.piece(
        { start: lines[pieceStart].start, text: text.slice(lines[pieceStart].start, lines[i - 1].end) },
        next,
      );
      if (!p || (sequence ? !isSeq(p) : !isMap(p))) return undefined;
      (collection.items as unknown[]).push(...(p as YAMLMap | YAMLSeq).items);
      pieceStart = i;
    }
    if (collection.items.length === 0) return undefined;
    const firstItem = collection.items[0] as Node | { key: Node };
    const lastItem = collection.items[collection.items.length - 1] as
      Node | { key: Node; value: Node | null };
    const a = isPair(firstItem) ? (firstItem.key as Node).range![0] : (firstItem as Node).range![0];
    const lastNode = isPair(lastItem)
      ? ((lastItem.value as Node | null) ?? (lastItem.key as Node))
      : (lastItem as Node);
    collection.range = [a, lastNode.range![1], end];
    // A new pair: the cached head keeps its empty value for the next edit.
    const pair = head.items[0];
    if (!(pair.value === null || (isScalar(pair.value) && (pair.value as Scalar).value === null)))
      return undefined;
    return [new Pair(pair.key, collection)];
  }

  /** Parses one piece (or takes it from the cache), with offsets in the whole text. */
  private piece(p: Piece, next: Map<string, CachedPiece>): Node | null | undefined {
    let cached = this.cache.get(p.text) ?? next.get(p.text);
    if (cached && next.has(p.text) && cached.base !== p.start) cached = undefined; // the same text twice
    if (!cached) {
      const doc = parseDocument(p.text, PARSE_OPTIONS);
      if (doc.errors.length || doc.warnings.length) return undefined;
      cached = { root: doc.contents as Node | null, base: 0 };
    }
    shift(cached.root, p.start - cached.base);
    cached.base = p.start;
    next.set(p.text, cached);
    return cached.root;
  }
}
