// The language service: one object per server that keeps each open document parsed once per
// version and answers every feature from that (as yaml-language-server's languageService). No
// connection and no engine here: the host gives file access, the server converts to LSP types.
import * as path from 'node:path';
import type { SpecDiagnostic } from './diagnostic';
import { codeActions, type SpecAction } from './actions';
import { complete, type CompletionEntry, type CompletionSources } from './complete';
import { definitionAt, type DefinitionTarget } from './definition';
import { hoverLock, hoverSpec, type HoverResult } from './hover';
import { codeLenses, type SpecLens } from './lenses';
import { compareWithLock, parseLockText, type LockComparison, type LockState, type LockView } from './lock';
import { parseSpecFrom, type ParseSpecResult } from './spec';
import { documentSymbols, type SpecSymbol } from './symbols';
import { YamlPieces } from './yamlChunks';
import { parseYaml, type ParsedYaml } from './yamlSource';
import { isMap, isScalar } from 'yaml';

export interface ServiceHost extends CompletionSources {
  /** Whether a host path exists (copy and mount sources). */
  exists(absolutePath: string): boolean;
  /** The text of a file, or undefined when there is none (strata.lock beside a spec). */
  readFile(absolutePath: string): string | undefined;
}

/** strata.yaml → strata.lock, foo.strata.yaml → foo.strata.lock (as engine/lock does). */
export function lockPathFor(specFile: string): string {
  return specFile.replace(/\.ya?ml$/, '') + '.lock';
}

export function isLockFile(file: string): boolean {
  return file.endsWith('.lock');
}

interface Analysis {
  uri: string;
  file: string;
  version: number;
  parsed: ParsedYaml;
  /** For specs. */
  result?: ParseSpecResult;
  comparison?: LockComparison;
  lock?: LockView;
  /** For lock documents. */
  lockDiagnostics?: SpecDiagnostic[];
}

interface Doc {
  uri: string;
  file: string;
  version: number;
  text: string;
}

export interface BuildFailure {
  /** 0-based step index, or undefined when the failure is not a step's (e.g. pulling the base). */
  step?: number;
  message: string;
}

export class SpecLanguageService {
  private readonly docs = new Map<string, Doc>();
  private readonly analyses = new Map<string, Analysis>();
  /** Lock text by lock path, read once until lockChanged(). */
  private readonly locks = new Map<string, { state: LockState }>();
  private readonly failures = new Map<string, BuildFailure>();
  /** Parsed sections of each open spec, reused across edits. */
  private readonly pieces = new Map<string, YamlPieces>();

  constructor(private readonly host: ServiceHost) {}

  open(uri: string, file: string, text: string, version: number): void {
    this.docs.set(uri, { uri, file, text, version });
    this.analyses.delete(uri);
    // An edited lock changes what the specs beside it are compared with.
    if (isLockFile(file)) this.lockChanged(file);
  }

  close(uri: string): void {
    const doc = this.docs.get(uri);
    this.docs.delete(uri);
    this.analyses.delete(uri);
    this.pieces.delete(uri);
    if (doc && isLockFile(doc.file)) this.lockChanged(doc.file);
  }

  /** The spec documents open beside a lock file (to revalidate when it changes). */
  specsBeside(lockFile: string): string[] {
    return [...this.docs.values()]
      .filter((d) => !isLockFile(d.file) && lockPathFor(d.file) === lockFile)
      .map((d) => d.uri);
  }

  fileOf(uri: string): string | undefined {
    return this.docs.get(uri)?.file;
  }

  /** The lock beside a spec, when it is valid. */
  lockOf(uri: string): LockView | undefined {
    return this.analysis(uri)?.lock;
  }

  has(uri: string): boolean {
    return this.docs.has(uri);
  }

  uris(): string[] {
    return [...this.docs.keys()];
  }

  /** A lock file changed on disk (or in the editor): forget what was read. */
  lockChanged(lockFile: string): void {
    this.locks.delete(lockFile);
    for (const [uri, a] of this.analyses) if (lockPathFor(a.file) === lockFile) this.analyses.delete(uri);
  }

  setBuildFailure(uri: string, failure: BuildFailure | undefined): void {
    if (failure) this.failures.set(uri, failure);
    else this.failures.delete(uri);
  }

  private lockState(lockFile: string): LockState {
    const cached = this.locks.get(lockFile);
    if (cached) return cached.state;
    // An open lock document wins over the file on disk.
    const open = [...this.docs.values()].find((d) => d.file === lockFile);
    const text = open ? open.text : this.host.readFile(lockFile);
    let state: LockState;
    if (text === undefined) state = { kind: 'missing' };
    else {
      const r = parseLockText(text);
      const first = r.diagnostics.find((d) => d.severity === 'error');
      state = r.lock
        ? { kind: 'present', lock: r.lock }
        : {
            kind: 'invalid',
            message: first
              ? `line ${first.range.start.line + 1}: ${first.message.split(' (strata.lock')[0]}`
              : 'unreadable',
          };
    }
    this.locks.set(lockFile, { state });
    return state;
  }

  analysis(uri: string): Analysis | undefined {
    const doc = this.docs.get(uri);
    if (!doc) return undefined;
    const cached = this.analyses.get(uri);
    if (cached && cached.version === doc.version) return cached;
    let pieces = this.pieces.get(uri);
    if (!pieces) this.pieces.set(uri, (pieces = new YamlPieces()));
    const parsed = parseYaml(doc.text, isLockFile(doc.file) ? undefined : pieces);
    const a: Analysis = { uri, file: doc.file, version: doc.version, parsed };
    if (isLockFile(doc.file)) {
      a.lockDiagnostics = parseLockText(doc.text).diagnostics;
    } else {
      // A document that is not a file (untitled:) has no folder: no sources to check, no lock.
      const onDisk = path.isAbsolute(doc.file);
      a.result = parseSpecFrom(parsed, onDisk ? { file: doc.file, exists: (p) => this.host.exists(p) } : {});
      const state: LockState = onDisk ? this.lockState(lockPathFor(doc.file)) : { kind: 'missing' };
      if (state.kind === 'present') a.lock = state.lock;
      if (a.result.spec) a.comparison = compareWithLock(a.result.spec, parsed, uri, state);
    }
    this.analyses.set(uri, a);
    return a;
  }

  diagnostics(uri: string): SpecDiagnostic[] {
    const a = this.analysis(uri);
    if (!a) return [];
    if (a.lockDiagnostics) return a.lockDiagnostics;
    const out = [...(a.result?.diagnostics ?? []), ...(a.comparison?.diagnostics ?? [])];
    const failure = this.failures.get(uri);
    if (failure) {
      const step = failure.step !== undefined ? a.result?.spec?.steps[failure.step] : undefined;
      const range = step?.range ?? a.result?.spec?.ranges.from ?? a.parsed.lines.range(0, 0);
      out.push({ severity: 'error', code: 'build-failed', message: failure.message, range });
    }
    return out;
  }

  /** What the status bar and strata/status report: is there a lock, and does it match? */
  lockStatus(uri: string): LockComparison['state'] | 'invalid-spec' {
    const a = this.analysis(uri);
    if (!a?.result?.spec) return 'invalid-spec';
    return a.comparison?.state ?? 'none';
  }

  completion(uri: string, offset: number): CompletionEntry[] {
    const a = this.analysis(uri);
    if (!a || a.lockDiagnostics) return [];
    const lock = a.lock;
    return complete(a.parsed.lines, offset, {
      packageNames: (kind) => [
        ...new Set([
          ...(lock?.steps.flatMap((s) =>
            (kind === 'apt' ? (s.apt ?? []) : (s.pip ?? [])).map((p) => p.name),
          ) ?? []),
          ...(this.host.packageNames?.(kind) ?? []),
        ]),
      ],
      imageRefs: () => [...new Set([...(lock ? [lock.base.ref] : []), ...(this.host.imageRefs?.() ?? [])])],
    });
  }

  hover(uri: string, offset: number): HoverResult | undefined {
    const a = this.analysis(uri);
    if (!a) return undefined;
    return a.lockDiagnostics ? hoverLock(a.parsed, offset) : hoverSpec(a.parsed, offset, a.lock);
  }

  symbols(uri: string): SpecSymbol[] {
    const a = this.analysis(uri);
    if (!a || a.lockDiagnostics) return [];
    return documentSymbols(a.parsed, a.result?.spec);
  }

  lenses(uri: string): SpecLens[] {
    const a = this.analysis(uri);
    if (!a || a.lockDiagnostics) return [];
    return codeLenses(
      a.result?.spec,
      uri,
      a.comparison?.state === 'current' || a.comparison?.state === 'stale',
    );
  }

  actions(uri: string, start: number, end: number): SpecAction[] {
    const a = this.analysis(uri);
    if (!a) return [];
    return codeActions(this.diagnostics(uri), start, end, a.result?.spec, a.lock, fromValue(a.parsed));
  }

  definition(uri: string, offset: number): DefinitionTarget | undefined {
    const a = this.analysis(uri);
    if (!a || a.lockDiagnostics || !path.isAbsolute(a.file)) return undefined;
    return definitionAt(a.parsed, offset, a.file);
  }

  /** The validated spec of an open document, if it has no errors. */
  spec(uri: string) {
    return this.analysis(uri)?.result?.spec;
  }
}

function fromValue(parsed: ParsedYaml): { value: string; span: [number, number] } | undefined {
  const root = parsed.doc.contents;
  if (!isMap(root)) return undefined;
  const pair = root.items.find((p) => isScalar(p.key) && p.key.value === 'from');
  const v = pair?.value;
  if (!isScalar(v) || typeof v.value !== 'string' || !v.range) return undefined;
  return { value: v.value, span: [v.range[0], v.range[1]] };
}
