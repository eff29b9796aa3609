// The build log: every step's output, in order, with a header per step, kept under
// $STRATA_HOME/logs/<name>.log (the last build that ran a step; the one before as .1).
// A failing step's message quotes its last lines from here.
import * as fs from 'node:fs';
import * as path from 'node:path';

export class BuildLog {
  readonly file: string;
  private fd = -1;
  private tail: string[] = [];

  constructor(home: string, name: string) {
    this.file = path.join(home, 'logs', `${name}.log`);
  }

  /** Opened when the first step runs, so that a build with every step cached keeps the last log. */
  private open(): void {
    if (this.fd >= 0) return;
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    try {
      fs.renameSync(this.file, `${this.file}.1`);
    } catch {
      /* first build */
    }
    this.fd = fs.openSync(this.file, 'w');
  }

  section(title: string): void {
    this.open();
    this.tail = [];
    fs.writeSync(this.fd, `\n==> ${title}\n`);
  }

  line(text: string): void {
    this.open();
    fs.writeSync(this.fd, text + '\n');
    this.tail.push(text);
    if (this.tail.length > 200) this.tail.splice(0, this.tail.length - 200);
  }

  /** The last `n` lines of the current section. */
  lastLines(n: number): string[] {
    return this.tail.slice(-n);
  }

  close(): void {
    if (this.fd >= 0) fs.closeSync(this.fd);
    this.fd = -1;
  }
}

/** Splits a byte stream into lines (the last partial line is kept until more comes or flush). */
export class LineSplitter {
  private rest = '';
  constructor(private readonly onLine: (line: string) => void) {}

  push(chunk: Buffer | string): void {
    const text = this.rest + chunk.toString();
    const parts = text.split(/\r?\n|\r/);
    this.rest = parts.pop() ?? '';
    for (const p of parts) this.onLine(p);
  }

  flush(): void {
    if (this.rest) this.onLine(this.rest);
    this.rest = '';
  }
}
