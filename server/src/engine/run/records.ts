// Run records (issue 5 §4): one JSON file per run under $STRATA_HOME/runs/, written when the run
// ends, holding what is needed to say later exactly what ran, on what, and what it produced.
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { StrataError } from '../errors';

export interface RunRecord {
  id: string;
  /** Absolute path of the spec, for runs of a spec's workload. */
  spec?: string;
  workload?: string;
  image: { name: string; manifest: string; config: string };
  /** sha256 of the strata.lock file's bytes at run time, when there is one. */
  lock?: { path: string; digest: string };
  command: string[];
  env: Record<string, string>;
  workdir: string;
  mounts: { src: string; dest: string; readonly: boolean }[];
  network: 'host' | 'none';
  resources: { cpus?: number; memory?: number; pids?: number };
  host: { kernel: string; hostname: string; cpu: { model: string; count: number }; memoryBytes: number };
  startedAt: string;
  endedAt: string;
  durationMs: number;
  /** `interrupted`: the run was stopped by Ctrl-C or SIGTERM to strata (the signal's name; code 130). */
  exit: { code: number; signal?: string; oomKilled?: boolean; interrupted?: string };
  rusage?: { userCpuMs?: number; systemCpuMs?: number; maxRssKiB?: number };
  /** Every file under the workload's declared outputs, relative to the spec's folder. */
  outputs: { path: string; size: number; sha256: string }[];
}

export function newRunId(now = new Date()): string {
  const t = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${t}-${randomBytes(3).toString('hex')}`;
}

export function hostFacts(): RunRecord['host'] {
  const cpus = os.cpus();
  return {
    kernel: `${os.type()} ${os.release()} ${os.machine()}`,
    hostname: os.hostname(),
    cpu: { model: cpus[0]?.model.trim() ?? 'unknown', count: cpus.length },
    memoryBytes: os.totalmem(),
  };
}

export function runsDir(home: string): string {
  return path.join(home, 'runs');
}

export function writeRunRecord(home: string, record: RunRecord): string {
  const dir = runsDir(home);
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${record.id}.json`);
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, JSON.stringify(record, null, 2) + '\n');
  fs.renameSync(tmp, file);
  return file;
}

const ID = /^[0-9]{8}-[0-9]{6}-[0-9a-f]{6}$/;

/** Every record, newest first. Unreadable files are skipped (a run in progress writes none). */
export function listRunRecords(home: string): { record: RunRecord; file: string }[] {
  let names: string[];
  try {
    names = fs.readdirSync(runsDir(home));
  } catch {
    return [];
  }
  const out: { record: RunRecord; file: string }[] = [];
  for (const n of names
    .filter((n) => n.endsWith('.json') && ID.test(n.slice(0, -5)))
    .sort()
    .reverse()) {
    const file = path.join(runsDir(home), n);
    try {
      out.push({ record: JSON.parse(fs.readFileSync(file, 'utf8')) as RunRecord, file });
    } catch {
      /* half-written by a crashed process: not a record */
    }
  }
  return out;
}

/** A record by its full id or a unique prefix of it. */
export function findRunRecord(home: string, id: string): { record: RunRecord; file: string } {
  const all = listRunRecords(home);
  const hits = all.filter((r) => r.record.id === id || r.record.id.startsWith(id));
  if (hits.length === 1) return hits[0];
  if (hits.length === 0)
    throw new StrataError(
      'USAGE',
      `no run with id '${id}' in ${runsDir(home)}`,
      "'strata runs' lists the runs and their ids",
    );
  throw new StrataError('USAGE', `'${id}' matches ${hits.length} runs`, 'give more of the id');
}
