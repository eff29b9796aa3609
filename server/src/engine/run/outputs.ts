// Hashes a workload's declared outputs after it ran (issue 5 §4): each path is relative to the
// spec's folder (where the mounts put results); a folder stands for every file under it.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

async function sha256File(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of fs.createReadStream(file, { highWaterMark: 1 << 20 })) h.update(chunk as Buffer);
  return h.digest('hex');
}

function walk(dir: string, out: string[]): void {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else if (e.isFile()) out.push(p);
  }
}

export async function hashOutputs(
  specDir: string,
  outputs: string[],
): Promise<{ path: string; size: number; sha256: string }[]> {
  const files: string[] = [];
  for (const o of outputs) {
    const abs = path.resolve(specDir, o);
    let st: fs.Stats;
    try {
      st = fs.statSync(abs);
    } catch {
      continue; // declared but not produced: the record shows it absent
    }
    if (st.isDirectory()) walk(abs, files);
    else if (st.isFile()) files.push(abs);
  }
  const out: { path: string; size: number; sha256: string }[] = [];
  for (const f of [...new Set(files)]) {
    out.push({ path: path.relative(specDir, f), size: fs.statSync(f).size, sha256: await sha256File(f) });
  }
  return out;
}
