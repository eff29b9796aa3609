// The language server process: wiring only. Language features live in lsp/ (pure, offsets),
// engine work in engine/; this file connects them to an LSP connection: document sync, debounced
// validation, cancellation, and the build commands with work-done progress.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  CodeActionKind,
  createConnection,
  DidChangeWatchedFilesNotification,
  ExecuteCommandRequest,
  LSPErrorCodes,
  ProposedFeatures,
  ResponseError,
  TextDocuments,
  TextDocumentSyncKind,
  type CancellationToken,
  type Connection,
  WorkDoneProgressCancelNotification,
  type WorkDoneProgressReporter,
} from 'vscode-languageserver/node';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { isStrataError } from './engine/errors';
import { listRunRecords } from './engine/run/records';
import { defaultStrataHome } from './engine/store/paths';
import type { BuildEvent, BuildResult as EngineResult } from './engine/build';
import { isLockFile, SpecLanguageService } from './lsp/service';
import {
  toCodeAction,
  toCodeLens,
  toCompletionItem,
  toDiagnostic,
  toDocumentSymbol,
  toHover,
  spanToRange,
} from './lsp/toLsp';
import {
  Commands,
  EnvironmentInfoRequest,
  LogNotification,
  StatusNotification,
  type BuildResult,
  type CommandErrorData,
  type EnvironmentInfo,
  type EnvironmentInfoExtras,
  type EnvironmentState,
  type InitializationOptions,
  type RunSummary,
} from './protocol';

/** Validation waits this long after the last keystroke, so a burst of typing validates once. */
const VALIDATION_DELAY_MS = Number(process.env.STRATA_LSP_VALIDATION_DELAY_MS ?? 20);

const connection: Connection = createConnection(ProposedFeatures.all);
const documents = new TextDocuments(TextDocument);

function fileOf(uri: string): string {
  if (uri.startsWith('file:')) return fileURLToPath(uri);
  // untitled: and other schemes: not a path (the service then checks no sources and no lock).
  return uri;
}

const service = new SpecLanguageService({
  exists: (p) => fs.existsSync(p),
  readFile: (p) => {
    try {
      return fs.readFileSync(p, 'utf8');
    } catch {
      return undefined;
    }
  },
  packageNames: (kind) => {
    // Package names the locks of every open spec have recorded, and those the store's builds have.
    const names = new Set<string>(storeKnowledge[kind]);
    for (const uri of service.uris()) {
      for (const s of service.lockOf(uri)?.steps ?? [])
        for (const p of (kind === 'apt' ? s.apt : s.pip) ?? []) names.add(p.name);
    }
    return [...names];
  },
  imageRefs: () => storeKnowledge.images,
});

/** What the store has seen: packages installed by cached build steps, images pulled or built. */
const storeKnowledge: { apt: string[]; pip: string[]; images: string[] } = { apt: [], pip: [], images: [] };

/** Reads the store in the background (at start and after builds); completion never waits for it. */
async function refreshStoreKnowledge(): Promise<void> {
  try {
    const { Store } = await import('./engine/store/store');
    const store = new Store(
      process.env.STRATA_HOME ?? (await import('./engine/store/paths')).defaultStrataHome(),
    );
    const apt = new Set<string>();
    const pip = new Set<string>();
    const dir = store.paths.cache;
    const files = fs.existsSync(dir)
      ? (await fs.promises.readdir(dir)).filter((f) => f.endsWith('.json')).slice(0, 5000)
      : [];
    for (const f of files) {
      try {
        const entry = JSON.parse(await fs.promises.readFile(path.join(dir, f), 'utf8')) as {
          apt?: { name: string }[];
          pip?: { name: string }[];
        };
        for (const p of entry.apt ?? []) apt.add(p.name);
        for (const p of entry.pip ?? []) pip.add(p.name);
      } catch {
        /* an entry being written or foreign: skip it */
      }
    }
    let images: string[] = [];
    try {
      images = store
        .listImages()
        .map((i) => i.name)
        .filter((n) => n.includes(':') && !n.startsWith('strata/'));
    } catch {
      /* no store yet */
    }
    Object.assign(storeKnowledge, { apt: [...apt].sort(), pip: [...pip].sort(), images });
  } catch (e) {
    connection.console.log(
      `strata: could not read the store for completion: ${e instanceof Error ? e.message : String(e)}`,
    );
  }
}

let trusted = true;
let canWatchFiles = false;

connection.onInitialize((params) => {
  const options = params.initializationOptions as Partial<InitializationOptions> | undefined;
  trusted = options?.trusted !== false;
  canWatchFiles = !!params.capabilities.workspace?.didChangeWatchedFiles?.dynamicRegistration;
  return {
    capabilities: {
      textDocumentSync: { openClose: true, change: TextDocumentSyncKind.Incremental },
      completionProvider: { triggerCharacters: [':', ' ', '-', '[', ','] },
      hoverProvider: true,
      documentSymbolProvider: true,
      codeLensProvider: { resolveProvider: false },
      codeActionProvider: { codeActionKinds: [CodeActionKind.QuickFix, CodeActionKind.RefactorRewrite] },
      definitionProvider: true,
      executeCommandProvider: { commands: Object.values(Commands) },
    },
    serverInfo: { name: 'strata-language-server', version: '0.1.0' },
  };
});

connection.onInitialized(() => {
  void refreshStoreKnowledge();
  // The client's cancel button on a build's progress (window/workDoneProgress/cancel) stops the
  // build like $/cancelRequest does. Registered after initialization, this replaces the library's
  // handler, which only serves server-created progress (not used here).
  connection.onNotification(WorkDoneProgressCancelNotification.type, (params) => {
    progressBuilds.get(params.token)?.abort();
  });
  if (canWatchFiles) {
    void connection.client.register(DidChangeWatchedFilesNotification.type, {
      watchers: [{ globPattern: '**/*.lock' }, { globPattern: '**/{strata.yaml,*.strata.yaml}' }],
    });
  }
});

// ---- Validation: debounced per document, published only for the version it was made from ----

const pending = new Map<string, NodeJS.Timeout>();
const lastState = new Map<string, EnvironmentState>();
/**
 * The spec text a build failed on, by URI. `failed` is what the user needs to see until they change
 * the spec or start another build: revalidation (which runs right after the build ends) must not
 * turn it back into the lock's state ('not-built' when the first build failed).
 */
const failedOn = new Map<string, string>();

/** The spec's text as the editor has it, else as on disk. */
function specText(uri: string): string | undefined {
  const doc = documents.get(uri);
  if (doc) return doc.getText();
  try {
    return fs.readFileSync(fileOf(uri), 'utf8');
  } catch {
    return undefined;
  }
}

/** True while the last build of `uri` failed and its spec is unchanged since; else forgets it. */
function failureStands(uri: string): boolean {
  if (lastState.get(uri) !== 'failed') return false;
  const text = failedOn.get(uri);
  if (text !== undefined && text === specText(uri)) return true;
  // The spec changed: the failure (state and the diagnostic on its step) no longer describes it.
  failedOn.delete(uri);
  lastState.delete(uri);
  service.setBuildFailure(uri, undefined);
  return false;
}

function scheduleValidation(uri: string, delay = VALIDATION_DELAY_MS): void {
  clearTimeout(pending.get(uri));
  pending.set(
    uri,
    setTimeout(() => {
      pending.delete(uri);
      validate(uri);
    }, delay),
  );
}

function validate(uri: string): void {
  const doc = documents.get(uri);
  if (!doc || !service.has(uri)) return;
  const version = doc.version;
  failureStands(uri); // an edit since a failed build drops the failure before diagnostics are made
  const diagnostics = service.diagnostics(uri).map(toDiagnostic);
  // A newer change arrived while this one was checked: its own validation will publish.
  if (documents.get(uri)?.version !== version) return;
  void connection.sendDiagnostics({ uri, version, diagnostics });
  if (!isLockFile(service.fileOf(uri) ?? '')) publishLockState(uri);
}

/** strata/status from what the editor knows: is there a lock, and does it match the spec? */
function publishLockState(uri: string): void {
  if (building.has(uri) || failureStands(uri)) return;
  const lock = service.lockStatus(uri);
  const state: EnvironmentState | undefined =
    lock === 'current' ? 'locked' : lock === 'stale' ? 'stale' : lock === 'none' ? 'not-built' : undefined;
  if (!state || lastState.get(uri) === state) return;
  lastState.set(uri, state);
  void connection.sendNotification(StatusNotification.type, {
    uri,
    state,
    ...(state === 'stale' ? { detail: 'strata.lock does not match the spec' } : {}),
    ...(service.lockOf(uri) ? { imageDigest: service.lockOf(uri)!.image.manifest } : {}),
  });
}

documents.onDidOpen((e) => {
  service.open(e.document.uri, fileOf(e.document.uri), e.document.getText(), e.document.version);
  revalidateLockNeighbours(e.document.uri);
  scheduleValidation(e.document.uri, 0);
});
documents.onDidChangeContent((e) => {
  service.open(e.document.uri, fileOf(e.document.uri), e.document.getText(), e.document.version);
  revalidateLockNeighbours(e.document.uri);
  scheduleValidation(e.document.uri);
});
documents.onDidClose((e) => {
  clearTimeout(pending.get(e.document.uri));
  service.close(e.document.uri);
  revalidateLockNeighbours(e.document.uri);
  void connection.sendDiagnostics({ uri: e.document.uri, diagnostics: [] });
});

/** When a lock document changes, the specs beside it are compared again. */
function revalidateLockNeighbours(uri: string): void {
  const file = fileOf(uri);
  if (isLockFile(file)) for (const spec of service.specsBeside(file)) scheduleValidation(spec);
}

connection.onDidChangeWatchedFiles((params) => {
  for (const change of params.changes) {
    const file = fileOf(change.uri);
    if (isLockFile(file)) {
      service.lockChanged(file);
      for (const spec of service.specsBeside(file)) scheduleValidation(spec, 0);
    } else {
      // A spec or a copied file appeared or went away: sources may now exist or not.
      for (const uri of service.uris()) scheduleValidation(uri, 0);
    }
  }
});

// ---- Requests: each checks for cancellation before doing work ----

function offsetOf(uri: string, position: { line: number; character: number }): number | undefined {
  return service.analysis(uri)?.parsed.lines.offsetAt(position.line, position.character);
}

function cancelled(token: CancellationToken): boolean {
  return token.isCancellationRequested;
}

connection.onCompletion((params, token) => {
  const offset = offsetOf(params.textDocument.uri, params.position);
  if (offset === undefined || cancelled(token)) return null;
  const lines = service.analysis(params.textDocument.uri)!.parsed.lines;
  return service.completion(params.textDocument.uri, offset).map((e, i) => toCompletionItem(lines, e, i));
});

connection.onHover((params, token) => {
  const offset = offsetOf(params.textDocument.uri, params.position);
  if (offset === undefined || cancelled(token)) return null;
  const h = service.hover(params.textDocument.uri, offset);
  return h ? toHover(service.analysis(params.textDocument.uri)!.parsed.lines, h) : null;
});

connection.onDocumentSymbol((params, token) => {
  if (cancelled(token)) return null;
  return service.symbols(params.textDocument.uri).map(toDocumentSymbol);
});

connection.onCodeLens((params, token) => {
  if (cancelled(token)) return null;
  return service.lenses(params.textDocument.uri).map(toCodeLens);
});

connection.onCodeAction((params, token) => {
  const uri = params.textDocument.uri;
  const a = service.analysis(uri);
  if (!a || cancelled(token)) return null;
  const start = a.parsed.lines.offsetAt(params.range.start.line, params.range.start.character);
  const end = a.parsed.lines.offsetAt(params.range.end.line, params.range.end.character);
  return service.actions(uri, start, end).map((x) => toCodeAction(a.parsed.lines, uri, x));
});

connection.onDefinition((params, token) => {
  const uri = params.textDocument.uri;
  const offset = offsetOf(uri, params.position);
  if (offset === undefined || cancelled(token)) return null;
  const target = service.definition(uri, offset);
  if (!target || !fs.existsSync(target.path)) return null;
  const origin = spanToRange(service.analysis(uri)!.parsed.lines, target.span);
  const zero = { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } };
  return [
    {
      originSelectionRange: origin,
      targetUri: pathToFileURL(target.path).href,
      targetRange: zero,
      targetSelectionRange: zero,
    },
  ];
});

// ---- Environment info and build commands ----

connection.onRequest(EnvironmentInfoRequest.type, (params): EnvironmentInfo & EnvironmentInfoExtras => {
  const uri = params.uri;
  const file = fileOf(uri);
  // Not open in the editor: read it from disk (views list environments that are closed).
  const opened = !service.has(uri);
  if (opened) {
    const text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : undefined;
    if (text === undefined) throw new ResponseError(-32602, `${file} does not exist`);
    service.open(uri, file, text, -1);
  }
  try {
    return environmentInfo(uri);
  } finally {
    if (opened) service.close(uri);
  }
});

function environmentInfo(uri: string): EnvironmentInfo & EnvironmentInfoExtras {
  const spec = service.spec(uri);
  const lock = service.lockOf(uri);
  const lockState = service.lockStatus(uri);
  const layers = lock
    ? [...lock.base.layers.map((l) => ({ ...l })), ...lock.steps.map((s) => ({ ...s.layer, step: s.step }))]
    : [];
  const state: EnvironmentState =
    (lastState.get(uri) === 'failed' && !failureStands(uri) ? undefined : lastState.get(uri)) ??
    (lockState === 'current' ? 'locked' : lockState === 'stale' ? 'stale' : 'not-built');
  return {
    uri,
    state,
    ...(lock ? { imageDigest: lock.image.manifest } : {}),
    layers,
    workloads: spec ? Object.keys(spec.workloads) : [],
    ...(spec ? { name: spec.name } : {}),
    lockState: lockState === 'current' ? 'current' : lockState === 'stale' ? 'stale' : 'none',
    runs: uri.startsWith('file:') ? recentRuns(fileOf(uri)) : [],
  };
}

/** How many runs environmentInfo lists per spec (the view shows the newest few). */
const MAX_RUNS = 10;

/**
 * The newest runs of this spec's workloads, from the run records under $STRATA_HOME/runs (written
 * by `strata run` when a run ends). Read on each request: a run finished in a terminal shows up at
 * the client's next refresh without any notification.
 */
function recentRuns(specFile: string): RunSummary[] {
  const wanted = samePath(specFile);
  const out: RunSummary[] = [];
  for (const { record, file } of listRunRecords(defaultStrataHome())) {
    if (!record.spec || !wanted(record.spec)) continue;
    out.push({
      id: record.id,
      workload: record.workload ?? record.command.join(' '),
      exitCode: record.exit.code,
      startedAt: record.startedAt,
      recordPath: file,
    });
  }
  // Record ids order by the second only; the start time (milliseconds) orders runs within one.
  return out.sort((a, b) => b.startedAt.localeCompare(a.startedAt)).slice(0, MAX_RUNS);
}

/** A predicate for "is this the same file", also through symlinks (records hold absolute paths). */
function samePath(file: string): (other: string) => boolean {
  const resolved = path.resolve(file);
  let real: string | undefined;
  try {
    real = fs.realpathSync(resolved);
  } catch {
    real = undefined;
  }
  return (other) => {
    if (path.resolve(other) === resolved) return true;
    if (real === undefined) return false;
    try {
      return fs.realpathSync(other) === real;
    } catch {
      return false;
    }
  };
}

const building = new Map<string, AbortController>();
/** Running builds by the work-done token the client gave them. */
const progressBuilds = new Map<string | number, AbortController>();

function setStatus(uri: string, state: EnvironmentState, detail?: string, imageDigest?: string): void {
  lastState.set(uri, state);
  void connection.sendNotification(StatusNotification.type, {
    uri,
    state,
    ...(detail ? { detail } : {}),
    ...(imageDigest ? { imageDigest } : {}),
  });
}

function progressOf(
  uri: string,
  e: BuildEvent,
  progress: WorkDoneProgressReporter,
  failed: { step?: number },
): void {
  switch (e.type) {
    case 'pull':
      progress.report(`pulling ${e.ref}${e.total ? ` (${Math.round((100 * e.bytes) / e.total)}%)` : ''}`);
      break;
    case 'step': {
      const text = `step ${e.index}/${e.total}: ${e.label}${e.status === 'cached' ? ' (cached)' : ''}`;
      progress.report(
        Math.round((100 * (e.index - (e.status === 'running' ? 1 : 0))) / Math.max(1, e.total)),
        text,
      );
      if (e.status === 'running') setStatus(uri, 'building', text);
      if (e.status === 'failed') failed.step = e.index - 1;
      break;
    }
    case 'output':
      void connection.sendNotification(LogNotification.type, { uri, level: 'info', text: e.line });
      break;
    case 'lock':
      service.lockChanged(e.path);
      break;
    default:
      break;
  }
}

async function runCommand(
  command: string,
  uri: string,
  token: CancellationToken,
  progress: WorkDoneProgressReporter,
  progressToken: string | number | undefined,
): Promise<BuildResult> {
  if (!trusted) {
    throw new ResponseError<CommandErrorData>(-32001, 'Strata does not build in an untrusted workspace', {
      code: 'USAGE',
      hint: 'trust the workspace to build, run and verify environments',
    });
  }
  if (building.has(uri)) {
    throw new ResponseError<CommandErrorData>(-32002, 'this environment is already being built', {
      code: 'USAGE',
      hint: 'wait for the running build, or cancel it',
    });
  }
  const file = fileOf(uri);
  const controller = new AbortController();
  building.set(uri, controller);
  const onCancel = token.onCancellationRequested(() => controller.abort());
  if (progressToken !== undefined) progressBuilds.set(progressToken, controller);
  const failed: { step?: number } = {};
  let cancelledBuild = false;
  const title =
    {
      [Commands.build]: 'Building',
      [Commands.rebuild]: 'Rebuilding without cache',
      [Commands.verify]: 'Verifying',
      [Commands.lock]: 'Locking',
    }[command] ?? 'Building';
  progress.begin(`${title} ${path.basename(path.dirname(file))}`, 0, 'starting', true);
  setStatus(uri, 'building', 'starting');
  failedOn.delete(uri);
  service.setBuildFailure(uri, undefined);
  try {
    const options = {
      signal: controller.signal,
      cwd: path.dirname(file),
      onEvent: (e: BuildEvent) => progressOf(uri, e, progress, failed),
    };
    // Loaded on first use: the language features start fast and never depend on the engine.
    const { buildEnvironment, verifyEnvironment } = await import('./engine/build');
    let result: EngineResult;
    if (command === Commands.verify) result = await verifyEnvironment(file, options);
    else result = await buildEnvironment(file, { ...options, noCache: command === Commands.rebuild });
    service.lockChanged(result.lockPath);
    const state: EnvironmentState = result.report
      ? result.report.status === 'reproduced'
        ? 'reproduced'
        : 'drift'
      : 'locked';
    setStatus(
      uri,
      state,
      result.report ? undefined : `${result.ran} steps run, ${result.cached} cached`,
      result.manifestDigest,
    );
    return {
      uri,
      state,
      imageDigest: result.manifestDigest,
      lockUri: pathToFileURL(result.lockPath).href,
      ...(result.report
        ? {
            drift: result.report.steps
              .filter((s) => !s.reproduced)
              .map((s) => ({ step: s.label, files: s.files.map((f) => f.path) })),
          }
        : {}),
    };
  } catch (e) {
    if (controller.signal.aborted || (isStrataError(e) && e.code === 'CANCELLED')) {
      // Nothing changed: the status goes back to what the lock says (published below).
      cancelledBuild = true;
      throw new ResponseError(LSPErrorCodes.RequestCancelled, 'build cancelled');
    }
    const message = isStrataError(e) ? e.message : e instanceof Error ? e.message : String(e);
    const hint = isStrataError(e) ? e.hint : undefined;
    // A failed step shows as a diagnostic on that step (its first lines; the log has the rest).
    if (!isStrataError(e) || e.code !== 'SPEC') {
      service.setBuildFailure(uri, {
        step: failed.step,
        message: `build failed: ${message}${hint ? `\n${hint}` : ''}`,
      });
    }
    const text = specText(uri);
    if (text !== undefined) failedOn.set(uri, text);
    setStatus(uri, 'failed', message.split('\n')[0]);
    throw new ResponseError<CommandErrorData>(-32003, message, {
      code: isStrataError(e) ? e.code : 'INTERNAL',
      ...(hint ? { hint } : {}),
    });
  } finally {
    onCancel.dispose();
    building.delete(uri);
    if (progressToken !== undefined) progressBuilds.delete(progressToken);
    if (cancelledBuild) {
      lastState.delete(uri);
      if (service.has(uri)) publishLockState(uri);
    }
    progress.done();
    if (service.has(uri)) scheduleValidation(uri, 0);
    void refreshStoreKnowledge();
  }
}

/** Builds in flight, so that shutdown can stop them and wait: an editor closing leaves nothing. */
const inFlight = new Set<Promise<unknown>>();

connection.onShutdown(async () => {
  for (const controller of building.values()) controller.abort();
  await Promise.race([Promise.allSettled([...inFlight]), new Promise((r) => setTimeout(r, 15000))]);
});

// Registered as a plain request (not onExecuteCommand), because the library's wrapper removes
// workDoneToken from the params, and the token is how window/workDoneProgress/cancel finds the build.
connection.onRequest(ExecuteCommandRequest.type, async (params, token) => {
  const progressToken = params.workDoneToken;
  const progress = connection.window.attachWorkDoneProgress(progressToken);
  const uri = params.arguments?.[0];
  if (typeof uri !== 'string' || !uri.startsWith('file:')) {
    throw new ResponseError<CommandErrorData>(
      -32602,
      `${params.command} needs the spec's file: URI as its first argument`,
      { code: 'USAGE' },
    );
  }
  if (!(Object.values(Commands) as string[]).includes(params.command)) {
    throw new ResponseError(-32601, `unknown command ${params.command}`);
  }
  const run = runCommand(params.command, uri, token, progress, progressToken);
  inFlight.add(run);
  void run.finally(() => inFlight.delete(run)).catch(() => undefined);
  return run;
});

documents.listen(connection);
connection.listen();
