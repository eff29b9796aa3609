// Running strata-box as a child that speaks records on stdin/stdout: spawn, collect stderr, wait,
// and turn an end record that reports a failure into a StrataError naming the entry.
import { spawn, type ChildProcess } from 'node:child_process';
import { StrataError } from '../errors';
import { strataBoxPath } from './binary';

/** Exit codes of apply and scan (native/src/records.h). */
export const EXIT_REFUSED = 247;
export const EXIT_FILESYSTEM = 251;

export interface BoxChild {
  child: ChildProcess;
  /** Resolves when the process has exited and its pipes are closed. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** What it printed on stderr (the last 64 KiB). */
  stderr(): string;
  kill(): void;
}

export function spawnBox(args: string[], signal?: AbortSignal): BoxChild {
  if (signal?.aborted) throw cancelled(args[0]);
  const child = spawn(strataBoxPath(), args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let err = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (d: string) => {
    err = (err + d).slice(-65536);
  });
  // A child that exits early makes writes fail with EPIPE; the end record says why, so the
  // error event itself is only kept from becoming an uncaught exception.
  child.stdin!.on('error', () => {});
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('error', (e) => {
      err += `\n${e.message}`;
      resolve({ code: null, signal: null });
    });
    child.once('close', (code, sig) => resolve({ code, signal: sig }));
  });
  const kill = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  signal?.addEventListener('abort', kill, { once: true });
  void exited.then(() => signal?.removeEventListener('abort', kill));
  return { child, exited, stderr: () => err.trim(), kill };
}

export function cancelled(command: string | undefined): StrataError {
  return new StrataError('CANCELLED', `strata-box ${command ?? ''} was cancelled`.replace('  ', ' '));
}

/** The error an end record {ok:false, entry, error, exitCode} stands for. */
export function failureFromSummary(
  command: string,
  summary: Record<string, unknown>,
  where: string | undefined,
): StrataError {
  const entry = typeof summary.entry === 'string' && summary.entry ? summary.entry : undefined;
  const message = typeof summary.error === 'string' ? summary.error : 'failed without a message';
  const prefix = where ? `${where}: ` : '';
  const text = `${prefix}strata-box ${command}: ${entry ? `entry '${entry}': ` : ''}${message}`;
  if (summary.exitCode === EXIT_REFUSED)
    return new StrataError('LAYER', text, 'the layer is malformed or hostile; nothing of it was kept');
  return new StrataError('SANDBOX', text, 'check that the file system is healthy and has room');
}

/** The error for a child that ended without an end record (an error inside file data, or killed). */
export function failureFromExit(
  command: string,
  status: { code: number | null; signal: NodeJS.Signals | null },
  stderr: string,
  where: string | undefined,
): StrataError {
  const prefix = where ? `${where}: ` : '';
  // Its own message (on stderr) already says what failed and names the entry.
  if (status.code === EXIT_REFUSED && stderr)
    return new StrataError(
      'LAYER',
      `${prefix}${stderr}`,
      'the layer is malformed or hostile; nothing of it was kept',
    );
  if (status.code === EXIT_FILESYSTEM && stderr)
    return new StrataError(
      'SANDBOX',
      `${prefix}${stderr}`,
      'check that the file system is healthy and has room',
    );
  const how = status.signal ? `was killed by ${status.signal}` : `exited with code ${status.code}`;
  return new StrataError(
    'SANDBOX',
    `${prefix}strata-box ${command} ${how} without a result${stderr ? `: ${stderr}` : ''}`,
    'this is a bug in strata-box or the machine ran out of memory',
  );
}
