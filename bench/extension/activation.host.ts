// Runs inside the extension host of a fresh code-server window (as extensionTestsPath): activates
// Strata and, for comparison, VS Code's own JSON language client (the same kind of extension:
// vscode-languageclient starting a Node language server), and records how long each takes.
import * as fs from 'node:fs';
import { performance } from 'node:perf_hooks';
import * as vscode from 'vscode';

export interface ActivationSample {
  id: string;
  /** ext.activate(): loading the bundle and running activate(). */
  activateMs: number;
  /** CPU time of the extension host process over the same span (less sensitive to a busy machine). */
  activateCpuMs: number;
  /** Until the language server answered initialize (Strata's api.ready), when known. */
  serverReadyMs?: number;
  /** Strata only: from the activate() call to its bundle's imports evaluated, and activate() itself. */
  loadMs?: number;
  activateBodyMs?: number;
}

interface Timings {
  modulesEvaluatedAt: number;
  activateStartedAt: number;
  activateEndedAt: number;
}

async function measure(id: string): Promise<ActivationSample> {
  const ext = vscode.extensions.getExtension(id);
  if (!ext) throw new Error(`extension ${id} is not installed`);
  if (ext.isActive)
    throw new Error(`extension ${id} is already active: the bench workspace must not trigger it`);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const api = (await ext.activate()) as { ready?: Promise<unknown>; timings?: Timings } | undefined;
  const activateMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const activateCpuMs = (cpu.user + cpu.system) / 1000;
  const t = api?.timings;
  const loadMs = t ? t.modulesEvaluatedAt - t0 : undefined;
  const activateBodyMs = t ? t.activateEndedAt - t.activateStartedAt : undefined;
  let serverReadyMs: number | undefined;
  if (api?.ready) {
    await api.ready;
    serverReadyMs = performance.now() - t0;
  }
  return { id, activateMs, activateCpuMs, serverReadyMs, loadMs, activateBodyMs };
}

export async function run(): Promise<void> {
  // Alternate the order between windows so no extension always pays for a cold disk cache first.
  const order =
    process.env.BENCH_ORDER === 'peer-first'
      ? ['bench.empty', 'vscode.json-language-features', 'strata-dev.strata']
      : ['strata-dev.strata', 'vscode.json-language-features', 'bench.empty'];
  const samples: ActivationSample[] = [];
  for (const id of order) samples.push(await measure(id));
  fs.writeFileSync(process.env.BENCH_RESULT_FILE!, JSON.stringify(samples));
}
