// Offsets are what the parser gives; lines and characters are what people and LSP clients read.
// Everything in lsp/ works in offsets and converts once, here (as yaml-language-server does with
// textDocument.positionAt). Characters are UTF-16 code units, like JavaScript strings and LSP.

/** A point in the text: offset, and 0-based line and character. */
export interface SourcePosition {
  offset: number;
  line: number;
  character: number;
}

export interface SourceRange {
  start: SourcePosition;
  end: SourcePosition;
}

export class LineIndex {
  /** Offset at which each line starts; lineStarts[0] is 0. */
  private readonly lineStarts: number[];

  constructor(readonly text: string) {
    const starts = [0];
    if (!text.includes('\r')) {
      // The common case, without a per-character loop: indexOf is much faster on long texts.
      for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) starts.push(i + 1);
    } else {
      for (let i = 0; i < text.length; i++) {
        const c = text.charCodeAt(i);
        if (c === 10) starts.push(i + 1);
        else if (c === 13 && text.charCodeAt(i + 1) !== 10) starts.push(i + 1);
      }
    }
    this.lineStarts = starts;
  }

  get lineCount(): number {
    return this.lineStarts.length;
  }

  /** The position of an offset; offsets outside the text are clamped into it. */
  position(offset: number): SourcePosition {
    const at = Math.max(0, Math.min(Math.floor(offset), this.text.length));
    let low = 0;
    let high = this.lineStarts.length - 1;
    while (low < high) {
      const mid = (low + high + 1) >> 1;
      if (this.lineStarts[mid] <= at) low = mid;
      else high = mid - 1;
    }
    return { offset: at, line: low, character: at - this.lineStarts[low] };
  }

  range(start: number, end: number): SourceRange {
    const a = this.position(start);
    const b = this.position(Math.max(start, end));
    return { start: a, end: b };
  }

  /** The offset of a 0-based line and character, clamped to the line's end. */
  offsetAt(line: number, character: number): number {
    if (line < 0) return 0;
    if (line >= this.lineStarts.length) return this.text.length;
    const start = this.lineStarts[line];
    const next = line + 1 < this.lineStarts.length ? this.lineStarts[line + 1] : this.text.length;
    let lineEnd = next;
    while (lineEnd > start && (this.text[lineEnd - 1] === '\n' || this.text[lineEnd - 1] === '\r')) lineEnd--;
    return Math.min(start + Math.max(0, character), lineEnd);
  }

  /** The text of a 0-based line, without its line break. */
  lineText(line: number): string {
    const start = this.offsetAt(line, 0);
    return this.text.slice(start, this.offsetAt(line, Number.MAX_SAFE_INTEGER));
  }
}
