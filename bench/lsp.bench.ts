// Language server benchmark: time to diagnostics after an edit, and time to completion, for
// specs of 10, 200 and 2,000 lines, Strata's server beside yaml-language-server (with our schema)
// through the same LSP client over stdio; and memory after opening the 2,000-line spec.
//
// yaml-language-server waits a fixed 200 ms after an edit before validating (yamlSettings.js
// validationDelayMs, not configurable); Strata waits 20 ms (server.ts VALIDATION_DELAY_MS). The
// table shows what a user sees (edit → diagnostics) and, to compare the work itself, the same
// minus each server's fixed delay. The goal is judged on the latter.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { CompletionRequest, DidChangeConfigurationNotification } from 'vscode-languageserver-protocol/node';
import { startServer, type ServerProcess } from '../test/integration/lsp/lspClient';

const repo = path.resolve(__dirname, '..');
const schemaPath = path.join(repo, 'schemas', 'strata.schema.json');
const ITERATIONS = Number(process.env.BENCH_ITERATIONS ?? 15);
/** Edits and completions before measuring, so that both servers run warm (JIT, caches). */
const WARMUP = 5;
const SIZES = [10, 200, 2000];

interface Peer {
  name: string;
  delayMs: number;
  start(): Promise<ServerProcess>;
}

const peers: Peer[] = [
  {
    name: 'strata',
    delayMs: 20,
    start: () =>
      startServer(process.execPath, [path.join(repo, 'out', 'server.js'), '--stdio'], {
        initializationOptions: { trusted: true },
      }),
  },
  {
    name: 'yaml-language-server',
    delayMs: 200,
    start: async () => {
      const bin = path.join(repo, 'node_modules', 'yaml-language-server', 'bin', 'yaml-language-server');
      const settings = {
        yaml: {
          validate: true,
          completion: true,
          hover: true,
          format: { enable: false },
          schemaStore: { enable: false },
          schemas: { [pathToFileURL(schemaPath).href]: ['*.yaml'] },
        },
      };
      const s = await startServer(process.execPath, [bin, '--stdio'], {
        configuration: (section) => (section === 'yaml' ? settings.yaml : section ? undefined : settings),
      });
      await s.connection.sendNotification(DidChangeConfigurationNotification.type, { settings });
      return s;
    },
  },
];

/** A valid spec of about `lines` lines: steps and workloads, each workload with a network line. */
function makeSpec(lines: number): {
  text: string;
  edit: { line: number; character: number };
  completion: { line: number; character: number };
} {
  const out = [
    `# yaml-language-server: $schema=${pathToFileURL(schemaPath).href}`,
    'strata: 1',
    'name: bench',
    'from: docker.io/library/debian:bookworm-slim',
    'env:',
    '  OMP_NUM_THREADS: "4"',
    'steps:',
  ];
  const stepCount = Math.max(1, Math.floor((lines - 10) / 8));
  for (let i = 0; i < stepCount; i++) {
    if (i % 2 === 0) out.push(`  - apt: [python3-numpy, python3-scipy, libpkg${i}-dev]`);
    else out.push(`  - run: make -C /opt/part${i} all`, '    network: none');
  }
  out.push('workloads:');
  let w = 0;
  // At least one workload, so that every size has the completion position.
  do {
    out.push(
      `  job${w}:`,
      `    command: [python3, /opt/run.py, --part, "${w}"]`,
      '    resources: { cpus: 2, memory: 4GiB }',
      '    network: none',
    );
    w++;
  } while (out.length < lines - 1);
  const completionLine = out.length - 1;
  return {
    text: out.join('\n') + '\n',
    edit: { line: 5, character: 20 },
    completion: { line: completionLine, character: '    network: '.length },
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

function rssMiB(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)![1]) / 1024;
}

interface Row {
  peer: string;
  size: number;
  lines: number;
  diagnosticsMs: number;
  workMs: number;
  completionMs: number;
  completionItems: number;
  diagnostics: number;
  rss?: number;
}

async function measure(peer: Peer, size: number, dir: string): Promise<Row> {
  const spec = makeSpec(size);
  const file = path.join(dir, `spec-${size}.strata.yaml`);
  fs.writeFileSync(file, spec.text);
  const uri = pathToFileURL(file).href;
  const server = await peer.start();
  try {
    const first = server.nextDiagnostics(uri);
    server.open(uri, spec.text);
    const opened = await first;
    const rss = size === 2000 ? rssMiB(server.child.pid!) : undefined;
    const times: number[] = [];
    let version = 1;
    for (let i = 0; i < ITERATIONS + WARMUP; i++) {
      // Toggle one digit of OMP_NUM_THREADS: "4" ↔ "8" (the document changes every time).
      const text = i % 2 === 0 ? '8' : '4';
      const range = { start: spec.edit, end: { line: spec.edit.line, character: spec.edit.character + 1 } };
      version++;
      const next = server.nextDiagnostics(uri, version);
      const t0 = process.hrtime.bigint();
      server.change(uri, version, [{ range, text }]);
      await next;
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      if (i >= WARMUP) times.push(ms);
    }
    const completionTimes: number[] = [];
    let items = 0;
    for (let i = 0; i < ITERATIONS + WARMUP; i++) {
      const t0 = process.hrtime.bigint();
      const result = await server.connection.sendRequest(CompletionRequest.type, {
        textDocument: { uri },
        position: spec.completion,
      });
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      items = Array.isArray(result) ? result.length : (result?.items.length ?? 0);
      if (i >= WARMUP) completionTimes.push(ms);
    }
    const diagnosticsMs = median(times);
    return {
      peer: peer.name,
      size,
      lines: spec.text.split('\n').length - 1,
      diagnosticsMs,
      workMs: Math.max(0, diagnosticsMs - peer.delayMs),
      completionMs: median(completionTimes),
      completionItems: items,
      diagnostics: opened.diagnostics.length,
      rss,
    };
  } finally {
    await server.stop();
  }
}

async function main(): Promise<void> {
  if (!fs.existsSync(path.join(repo, 'out', 'server.js')))
    throw new Error('out/server.js is missing: run npm run build');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-lsp-bench-'));
  const rows: Row[] = [];
  try {
    for (const size of SIZES) for (const peer of peers) rows.push(await measure(peer, size, dir));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const f = (n: number) => n.toFixed(1).padStart(8);
  console.log(`language server, ${ITERATIONS} edits and ${ITERATIONS} completions per size (medians, ms)`);
  console.log('lines  server                edit→diag   minus delay   completion  items  diags');
  for (const r of rows) {
    console.log(
      `${String(r.lines).padStart(5)}  ${r.peer.padEnd(20)} ${f(r.diagnosticsMs)}   ${f(r.workMs)}     ${f(r.completionMs)}  ${String(r.completionItems).padStart(5)}  ${String(r.diagnostics).padStart(5)}`,
    );
  }
  console.log('\nratios strata / yaml-language-server (goal: ≤ 0.5, and < 50 ms at 2,000 lines)');
  let ok = true;
  for (const size of SIZES) {
    const [s, y] = peers.map((p) => rows.find((r) => r.peer === p.name && r.size === size)!);
    const diagRatio = s.diagnosticsMs / y.diagnosticsMs;
    const workRatio = s.workMs / Math.max(0.1, y.workMs);
    const compRatio = s.completionMs / y.completionMs;
    console.log(
      `${String(s.lines).padStart(5)} lines  edit→diag ${diagRatio.toFixed(2)}   work ${workRatio.toFixed(2)}   completion ${compRatio.toFixed(2)}`,
    );
    if (size === 2000)
      ok = workRatio <= 0.5 && compRatio <= 0.5 && s.diagnosticsMs < 50 && s.completionMs < 50;
  }
  const mem = rows.filter((r) => r.rss !== undefined);
  console.log(
    `\nmemory after opening the 2,000-line spec (RSS): ${mem.map((r) => `${r.peer} ${r.rss!.toFixed(0)} MiB`).join(', ')}`,
  );
  console.log(`goal at 2,000 lines: ${ok ? 'met' : 'NOT met'}`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
