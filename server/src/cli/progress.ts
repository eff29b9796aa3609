// Renders build events for people and programs (DESIGN §8): on a terminal, a live line per step
// with elapsed time and the step's latest output; otherwise plain lines, one per state change;
// with --json, every event as one JSON line (NDJSON). NO_COLOR turns colours off.
import type { BuildEvent, VerifyReport } from '../engine/build/events';

type Stream = NodeJS.WritableStream & { isTTY?: boolean; columns?: number };

export type ProgressMode = 'tty' | 'plain' | 'json';

export function progressMode(stream: Stream, json: boolean): ProgressMode {
  if (json) return 'json';
  return stream.isTTY ? 'tty' : 'plain';
}

/**
 * `strata runs | head`: the reader may close the pipe early. Stop quietly then (as `yes | head`
 * does) instead of dying on an unhandled EPIPE.
 */
export function quietOnClosedPipe(stream: NodeJS.WritableStream): void {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
    throw e;
  });
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

export function formatMs(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

export function shortDigest(d: string): string {
  return d.replace(/^sha256:/, '').slice(0, 12);
}

function colours(enabled: boolean) {
  const wrap = (code: string) => (s: string) => (enabled ? `\x1b[${code}m${s}\x1b[0m` : s);
  return { green: wrap('32'), red: wrap('31'), yellow: wrap('33'), dim: wrap('2'), bold: wrap('1') };
}

/** The drift report as text: one block per step that differs, with the files and their sizes. */
export function formatVerifyReport(report: VerifyReport, colour = false): string {
  const c = colours(colour);
  const lines: string[] = [];
  if (report.status === 'reproduced') {
    lines.push(c.green(`reproduced: every layer matches the lock (manifest ${report.manifest.built})`));
    return lines.join('\n') + '\n';
  }
  const drifted = report.steps.filter((s) => !s.reproduced);
  lines.push(c.red(`drift: ${drifted.length} of ${report.steps.length} step(s) differ from the lock`));
  for (const s of drifted) {
    lines.push(`  step ${s.index} at ${s.at}: ${s.label}`);
    lines.push(`    locked diff_id ${s.lockedDiffId}`);
    lines.push(`    built  diff_id ${s.builtDiffId}`);
    if (s.note) lines.push(`    ${s.note}`);
    for (const f of s.files) {
      const size =
        f.change === 'added'
          ? `${formatBytes(f.builtSize ?? 0)}`
          : f.change === 'removed'
            ? `${formatBytes(f.lockedSize ?? 0)}`
            : `${formatBytes(f.lockedSize ?? 0)} -> ${formatBytes(f.builtSize ?? 0)}`;
      const what = f.what?.length ? ` (${f.what.join(', ')})` : '';
      lines.push(`    ${f.change.padEnd(7)} ${f.path}  ${size}${what}`);
    }
  }
  if (report.manifest.locked !== report.manifest.built)
    lines.push(`  manifest: locked ${report.manifest.locked}, built ${report.manifest.built}`);
  return lines.join('\n') + '\n';
}

interface LiveStep {
  index: number;
  total: number;
  label: string;
  started: number;
  lastOutput: string;
}

export class ProgressRenderer {
  private readonly c: ReturnType<typeof colours>;
  private readonly colour: boolean;
  private live?: LiveStep;
  private pull?: { ref: string; bytes: number; total?: number };
  private timer?: NodeJS.Timeout;
  private drawn = false;

  constructor(
    private readonly out: Stream,
    readonly mode: ProgressMode,
    env: NodeJS.ProcessEnv,
  ) {
    this.colour = mode === 'tty' && !env.NO_COLOR;
    this.c = colours(this.colour);
  }

  readonly onEvent = (e: BuildEvent): void => {
    if (this.mode === 'json') {
      this.out.write(JSON.stringify(e) + '\n');
      return;
    }
    if (this.mode === 'tty') this.tty(e);
    else this.plain(e);
  };

  /** Stops the live line (call when the build ends, also on failure). */
  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.clearLine();
  }

  private plain(e: BuildEvent): void {
    const w = (s: string) => this.out.write(s + '\n');
    switch (e.type) {
      case 'start':
        w(
          `building ${e.name} from ${e.spec} (${e.steps} step${e.steps === 1 ? '' : 's'}${e.locked ? ', locked' : ''}${e.noCache ? ', no cache' : ''})`,
        );
        break;
      case 'base':
        w(`base ${e.ref} ${e.digest}`);
        break;
      case 'pull':
        if (e.total !== undefined && e.bytes === e.total) w(`pulled ${e.ref}: ${formatBytes(e.bytes)}`);
        break;
      case 'step':
        if (e.status === 'running') w(`step ${e.index}/${e.total}: ${e.label}`);
        else if (e.status === 'cached') w(`step ${e.index}/${e.total}: ${e.label}: cached`);
        else if (e.status === 'done')
          w(
            `step ${e.index}/${e.total}: done in ${formatMs(e.elapsedMs ?? 0)} (${formatBytes(e.size ?? 0)}, ${shortDigest(e.diffId ?? '')})`,
          );
        else w(`step ${e.index}/${e.total}: failed after ${formatMs(e.elapsedMs ?? 0)} at ${e.at}`);
        break;
      case 'image':
        w(`image ${e.name} ${e.manifestDigest}`);
        break;
      case 'lock':
        if (e.status !== 'not-written') w(`lock ${e.path}: ${e.status}`);
        break;
      case 'verify':
        this.out.write(formatVerifyReport(e.report));
        break;
      case 'done':
        w(`done in ${formatMs(e.elapsedMs)}: ${e.ran} step(s) run, ${e.cached} cached`);
        break;
      case 'output':
        break;
    }
  }

  private tty(e: BuildEvent): void {
    const c = this.c;
    switch (e.type) {
      case 'output':
        if (this.live && this.live.index === e.index) this.live.lastOutput = e.line;
        return;
      case 'pull':
        this.pull = { ref: e.ref, bytes: e.bytes, total: e.total };
        this.ensureTimer();
        this.draw();
        return;
      case 'step':
        if (e.status === 'running') {
          this.pull = undefined;
          this.live = { index: e.index, total: e.total, label: e.label, started: Date.now(), lastOutput: '' };
          this.ensureTimer();
          this.draw();
          return;
        }
        this.live = undefined;
        this.clearLine();
        if (e.status === 'cached')
          this.line(`${c.dim(`[${e.index}/${e.total}]`)} ${e.label} ${c.dim('cached')}`);
        else if (e.status === 'done')
          this.line(
            `${c.dim(`[${e.index}/${e.total}]`)} ${e.label} ${c.green('done')} ${formatMs(e.elapsedMs ?? 0)} ${c.dim(`${formatBytes(e.size ?? 0)} ${shortDigest(e.diffId ?? '')}`)}`,
          );
        else this.line(`${c.dim(`[${e.index}/${e.total}]`)} ${e.label} ${c.red('failed')} at ${e.at}`);
        return;
      default:
        this.clearLine();
        this.pull = undefined;
        if (e.type === 'verify') this.out.write(formatVerifyReport(e.report, this.colour));
        else this.plain(e);
    }
  }

  private ensureTimer(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.draw(), 100);
    this.timer.unref();
  }

  private line(s: string): void {
    this.out.write(s + '\n');
  }

  private clearLine(): void {
    if (this.drawn) this.out.write('\r\x1b[2K');
    this.drawn = false;
  }

  private draw(): void {
    const width = Math.max(40, (this.out.columns || 80) - 1);
    let text = '';
    if (this.live) {
      const l = this.live;
      // Position and time first, so that a narrow terminal still shows them; then the label, then
      // the step's latest output in what room is left.
      const head = `[${l.index}/${l.total}] ${formatMs(Date.now() - l.started).padStart(7)}  `;
      const label = l.label.length > width / 2 ? `${l.label.slice(0, Math.floor(width / 2) - 1)}…` : l.label;
      const room = width - head.length - label.length - 3;
      const tail =
        room > 8 && l.lastOutput ? `  ${l.lastOutput.replace(/\s+/g, ' ').trim().slice(-room)}` : '';
      text = `${this.c.bold(head + label)}${this.c.dim(tail)}`;
    } else if (this.pull) {
      const p = this.pull;
      const frac = p.total ? Math.min(1, p.bytes / p.total) : 0;
      const bar = p.total ? ` [${'#'.repeat(Math.round(frac * 20)).padEnd(20, '.')}]` : '';
      const amount = `${formatBytes(p.bytes)}${p.total ? ` / ${formatBytes(p.total)}` : ''}`;
      const ref = p.ref.length > width - 40 ? `…${p.ref.slice(-(width - 41))}` : p.ref;
      text = `pulling ${ref}${bar} ${amount}`;
    } else return;
    this.out.write(`\r\x1b[2K${text}`);
    this.drawn = true;
  }
}
