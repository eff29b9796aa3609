// Recent runs of a spec's workloads, for the Environments view. The server may send them in
// strata/environmentInfo (`runs`); when it does not, they come from the CLI's `strata runs --json`
// (NDJSON of run records with their file), filtered to this spec. The extension never reads the
// store itself.
import { execFile } from 'node:child_process';
import type * as vscode from 'vscode';
import type { RunSummary } from '../../server/src/protocol';
import { cliInvocation } from './cli';
import type { Config } from './config';

interface RunRecordLine {
  id: string;
  spec?: string;
  workload?: string;
  command?: string[];
  startedAt: string;
  exit: { code: number };
  file: string;
}

export function parseRunRecords(ndjson: string, specPath: string, max = 10): RunSummary[] {
  const runs: RunSummary[] = [];
  for (const line of ndjson.split('\n')) {
    if (!line.trim()) continue;
    let r: RunRecordLine;
    try {
      r = JSON.parse(line) as RunRecordLine;
    } catch {
      continue; // a line that is not a record (a warning) is not a run
    }
    if (r.spec !== specPath) continue;
    runs.push({
      id: r.id,
      workload: r.workload ?? (r.command ?? []).join(' '),
      exitCode: r.exit.code,
      startedAt: r.startedAt,
      recordPath: r.file,
    });
  }
  return runs.sort((a, b) => b.startedAt.localeCompare(a.startedAt)).slice(0, max);
}

export function listRuns(config: Config, spec: vscode.Uri): Promise<RunSummary[]> {
  const inv = cliInvocation(config, spec, ['runs', '--json']);
  return new Promise((resolve, reject) => {
    execFile(
      inv.command,
      inv.args,
      { cwd: inv.cwd, env: { ...process.env, ...inv.env }, maxBuffer: 16 << 20, timeout: 20000 },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`strata runs --json: ${stderr.trim() || error.message}`));
        else resolve(parseRunRecords(stdout, spec.fsPath));
      },
    );
  });
}
