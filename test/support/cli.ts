// Runs the built `strata` CLI the way a user does, as the current user or as the rootless test user.
import { cliBundle } from './paths';
import { runCollect, runAsUnprivileged, RunResult } from './users';

export interface CliOptions {
  env?: Record<string, string>;
  cwd?: string;
  input?: string;
  timeoutMs?: number;
  /** Run as this unprivileged user (through runuser when the tests run as root). */
  user?: string;
}

export function runCli(args: string[], options: CliOptions = {}): Promise<RunResult> {
  if (options.user) {
    return runAsUnprivileged(process.execPath, [cliBundle, ...args], options);
  }
  return runCollect(
    process.execPath,
    [cliBundle, ...args],
    { cwd: options.cwd, env: { ...process.env, NO_COLOR: '1', ...options.env } },
    options.input,
    options.timeoutMs,
  );
}
