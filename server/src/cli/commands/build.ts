// `strata build [SPEC] [--no-cache] [--locked] [--json]`
import * as path from 'node:path';
import { buildEnvironment, loadSpec, resolveSpecPath, type BuildResult } from '../../engine/build';
import type { BuildEvent } from '../../engine/build/events';
import {
  confirmPlan,
  currentInvocation,
  ELAPSED_RAW,
  ELAPSED_TEXT,
  specInputs,
  startPlan,
  storedObjects,
  writeBuildPlan,
  type PlanStart,
} from '../../engine/plan';
import { defaultStrataHome } from '../../engine/store/paths';
import type { CliIO, Command } from '../command';
import { formatMs, ProgressRenderer, progressMode, quietOnClosedPipe, type ProgressMode } from '../progress';
import { parseArgs } from '../args';

const usage = `usage: strata build [SPEC] [--no-cache] [--locked] [--json]

Builds the environment that SPEC (a strata.yaml, or a folder holding one; default: ./strata.yaml)
describes into the image strata/NAME in the store, one cached layer per step, and writes
strata.lock beside the spec when it changed.

  --no-cache   run every step again instead of reusing cached layers
  --locked     build only from strata.lock's pins (base digest, package versions and hashes);
               fail if the lock is stale; compare every layer with the lock and report
               "reproduced" or the drift (exit 1)
  --json       print progress as JSON lines (NDJSON), one event per line

Exit status: 0 built; 1 a bad spec, a failed step, a stale lock or drift; 130 interrupted.
The output of every step is kept in $STRATA_HOME/logs/NAME.log.`;

type Out = NodeJS.WritableStream & { isTTY?: boolean };

/** What follows the progress: warnings on stderr, and on a terminal the one-line summary. */
function writeSummary(stdout: Out, stderr: Out, mode: ProgressMode, result: BuildResult, elapsedMs: number) {
  if (mode === 'json') return;
  for (const w of result.warnings) stderr.write(`${w}\n`);
  if (mode === 'tty')
    stdout.write(`built ${result.image} ${result.manifestDigest} in ${formatMs(elapsedMs)}\n`);
}

/** A stream that keeps what is written, for rendering a plan's text. */
function textSink(isTTY: boolean): Out & { text: string } {
  const sink = {
    text: '',
    isTTY,
    write(s: string | Uint8Array) {
      sink.text += typeof s === 'string' ? s : Buffer.from(s).toString();
      return true;
    },
  };
  return sink as unknown as Out & { text: string };
}

// An elapsed time no real build takes, rendered as text and replaced by placeholders.
const SENTINEL_MS = 9_876_543_210;

/**
 * The text a no-change build prints in this mode, with the elapsed time as placeholders; undefined
 * when the sentinel does not appear exactly where expected (then no plan is written).
 */
function planText(
  events: BuildEvent[],
  result: BuildResult,
  mode: ProgressMode,
  env: NodeJS.ProcessEnv,
): { stdout: string; stderr: string } | undefined {
  const out = textSink(mode === 'tty');
  const err = textSink(false);
  const progress = new ProgressRenderer(out, mode, env);
  for (const e of events) progress.onEvent(e.type === 'done' ? { ...e, elapsedMs: SENTINEL_MS } : e);
  progress.close();
  writeSummary(out, err, mode, result, SENTINEL_MS);
  const formatted = formatMs(SENTINEL_MS);
  const raw = String(SENTINEL_MS);
  const expected = mode === 'json' ? [0, 1] : mode === 'tty' ? [2, 0] : [1, 0];
  const count = (s: string, x: string) => s.split(x).length - 1;
  const all = out.text + err.text;
  if (count(all, formatted) !== expected[0] || count(all, raw) !== expected[1]) return undefined;
  const fill = (s: string) => s.split(raw).join(ELAPSED_RAW).split(formatted).join(ELAPSED_TEXT);
  return { stdout: fill(out.text), stderr: fill(err.text) };
}

export const buildCommand: Command = {
  name: 'build',
  summary: 'build strata.yaml into an image and write strata.lock',
  usage,
  async run(args: string[], io: CliIO): Promise<number> {
    const { flags, positional } = parseArgs(args, 'build', [], ['--no-cache', '--locked', '--json']);
    quietOnClosedPipe(io.stdout);
    const specPath = resolveSpecPath(positional[0], io.cwd);
    const json = flags.has('--json');
    const mode = progressMode(io.stdout, json);
    const progress = new ProgressRenderer(io.stdout, mode, io.env);
    const loaded = loadSpec(path.resolve(specPath), io.cwd);
    // A plan for the native front end: only for a plain cached build (see engine/plan/README.md).
    const inv = currentInvocation(io.env, io.cwd);
    const home = defaultStrataHome(io.env);
    let plan: PlanStart | undefined;
    if (inv && !flags.has('--no-cache') && !flags.has('--locked'))
      plan = startPlan(inv, specInputs(loaded.spec, inv, home));
    const events: BuildEvent[] = [];
    try {
      const result = await buildEnvironment(specPath, {
        loaded,
        noCache: flags.has('--no-cache'),
        locked: flags.has('--locked'),
        signal: io.signal,
        onEvent: (e) => {
          if (plan) events.push(e);
          progress.onEvent(e);
        },
        env: io.env,
        cwd: io.cwd,
      });
      progress.close();
      writeSummary(io.stdout, io.stderr, mode, result, result.elapsedMs);
      if (
        plan &&
        result.ran === 0 &&
        result.lockStatus === 'unchanged' &&
        !events.some((e) => e.type === 'pull')
      )
        savePlan(plan, events, result, mode, io.env);
      return result.report?.status === 'drift' ? 1 : 0;
    } finally {
      progress.close();
    }
  },
};

function savePlan(
  plan: PlanStart,
  events: BuildEvent[],
  result: BuildResult,
  mode: ProgressMode,
  env: NodeJS.ProcessEnv,
): void {
  const snap = confirmPlan(plan);
  const text = snap && planText(events, result, mode, env);
  if (!snap || !text) return;
  const present = storedObjects(
    result.store,
    { manifest: result.manifestDigest, config: result.configDigest, layers: result.layers },
    result.cacheKeys,
  );
  writeBuildPlan(plan, snap, present, text);
}
