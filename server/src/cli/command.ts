// One CLI command: its name, a one-line summary for `strata --help`, its own --help text, and run().
// Each command lives in commands/<name>.ts and is listed in commands/index.ts.

export interface CliIO {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  /** Cancelled on SIGINT/SIGTERM: long operations stop and clean up. */
  signal: AbortSignal;
  env: NodeJS.ProcessEnv;
  cwd: string;
}

export interface Command {
  name: string;
  summary: string;
  usage: string;
  /** Returns the process exit code. Throws StrataError for user errors. */
  run(args: string[], io: CliIO): Promise<number>;
}

/** A line of the command table: enough to list it; the module itself is loaded when chosen. */
export interface CommandEntry {
  name: string;
  summary: string;
  load(): Command;
}
