// Loads a strata.yaml for the engine through the one spec parser (lsp/spec.ts): a spec with errors
// stops here with every error as `file:line:col: error: message`, before anything is built.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { StrataError } from '../errors';
import { formatDiagnostic, hasErrors, sortDiagnostics } from '../../lsp/diagnostic';
import type { Spec } from '../../lsp/model';
import { parseSpec } from '../../lsp/spec';
import type { SourceRange } from '../../lsp/text';
import type { EnvironmentSpec, SourcePos, StepDef } from './model';

export function hostPlatform(): string {
  const arch = process.arch === 'x64' ? 'amd64' : process.arch === 'ia32' ? '386' : process.arch;
  return `linux/${arch}`;
}

/** Finds the spec: a file, a folder holding strata.yaml, or strata.yaml in `cwd`. */
export function resolveSpecPath(arg: string | undefined, cwd: string): string {
  const given = path.resolve(cwd, arg ?? '.');
  let st: fs.Stats | undefined;
  try {
    st = fs.statSync(given);
  } catch {
    throw new StrataError(
      'SPEC',
      `${arg ?? given}: no such file or folder`,
      arg
        ? 'give the path of a strata.yaml or of the folder holding it'
        : 'run this in a folder with a strata.yaml, or give its path',
    );
  }
  if (!st.isDirectory()) return given;
  const file = path.join(given, 'strata.yaml');
  if (!fs.existsSync(file))
    throw new StrataError(
      'SPEC',
      `${given} has no strata.yaml`,
      'give the path of the spec, or write one (see docs/usage.md)',
    );
  return file;
}

function posOf(file: string, range: SourceRange): SourcePos {
  return { file, line: range.start.line + 1, col: range.start.character + 1 };
}

/** Converts the parser's model to the engine's view (absolute paths, defaults filled in). */
export function toEnvironmentSpec(spec: Spec, file: string, shown: string): EnvironmentSpec {
  const at = (r: SourceRange | undefined): SourcePos =>
    r ? posOf(shown, r) : { file: shown, line: 1, col: 1 };
  const steps: StepDef[] = spec.steps.map((s) => {
    const pos = at(s.range);
    const source = s;
    switch (s.kind) {
      case 'run':
        return { kind: 'run', command: s.command, network: s.network, pos, source };
      case 'copy':
        return { kind: 'copy', src: s.src, dest: s.dest, pos, source };
      case 'apt':
        return { kind: 'apt', packages: s.packages, pos, source };
      case 'pip':
        return {
          kind: 'pip',
          packages: s.packages,
          ...(s.indexUrl ? { indexUrl: s.indexUrl } : {}),
          pos,
          source,
        };
    }
  });
  return {
    source: spec,
    file,
    dir: path.dirname(file),
    name: spec.name,
    from: spec.from,
    fromPos: at(spec.ranges.from),
    platform: spec.platform ?? hostPlatform(),
    config: {
      env: spec.env ?? {},
      ...(spec.workdir ? { workdir: spec.workdir } : {}),
      ...(spec.user ? { user: spec.user } : {}),
      ...(spec.entrypoint ? { entrypoint: spec.entrypoint } : {}),
      ...(spec.cmd ? { cmd: spec.cmd } : {}),
      labels: spec.labels ?? {},
    },
    steps,
    mounts: spec.mounts.map((m) => ({ src: m.src, dest: m.dest, readonly: m.readonly, pos: at(m.range) })),
    workloads: Object.values(spec.workloads).map((w) => ({
      name: w.name,
      command: w.command,
      env: w.env,
      ...(w.workdir ? { workdir: w.workdir } : {}),
      resources: w.resources,
      network: w.network,
      outputs: w.outputs,
      pos: at(w.range),
    })),
  };
}

/**
 * Reads, parses and validates the spec at `file`. Errors (syntax, unknown keys, a missing copy
 * source, a bad image ref) throw one StrataError listing each as `file:line:col: error: ...`.
 * Warnings are returned for the front end to print.
 */
export function loadSpec(file: string, cwd = process.cwd()): { spec: EnvironmentSpec; warnings: string[] } {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new StrataError(
      'SPEC',
      `cannot read ${file}: ${(e as Error).message}`,
      'check the path and its permissions',
      { cause: e },
    );
  }
  const shown = path.relative(cwd, file) || file;
  const result = parseSpec(text, { dir: path.dirname(file), exists: (p: string) => fs.existsSync(p) });
  const diagnostics = sortDiagnostics(result.diagnostics);
  const lines = diagnostics.map((d) => formatDiagnostic(shown, d));
  if (hasErrors(diagnostics) || !result.spec) {
    const errors = diagnostics.filter((d) => d.severity === 'error');
    throw new StrataError(
      'SPEC',
      `${shown} has ${errors.length || 1} error${errors.length === 1 ? '' : 's'}:\n` +
        lines.filter((l) => l.includes(': error: ')).join('\n'),
      "fix the spec (run 'strata validate' for warnings too)",
    );
  }
  const warnings = diagnostics.filter((d) => d.severity === 'warning').map((d) => formatDiagnostic(shown, d));
  return { spec: toEnvironmentSpec(result.spec, file, shown), warnings };
}
