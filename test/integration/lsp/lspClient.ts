// A real LSP client over stdio for protocol tests and the benchmark: spawns a server process
// (out/server.js, or yaml-language-server) and speaks JSON-RPC to it with vscode-languageserver-
// protocol's node connection, as any editor would.
import { spawn, type ChildProcess } from 'node:child_process';
import {
  createProtocolConnection,
  DidChangeTextDocumentNotification,
  DidOpenTextDocumentNotification,
  ExitNotification,
  InitializedNotification,
  InitializeRequest,
  PublishDiagnosticsNotification,
  ShutdownRequest,
  StreamMessageReader,
  StreamMessageWriter,
  type ClientCapabilities,
  type Diagnostic,
  type ProtocolConnection,
  type PublishDiagnosticsParams,
} from 'vscode-languageserver-protocol/node';

export interface ServerProcess {
  connection: ProtocolConnection;
  child: ChildProcess;
  /** Every strata/status and other notification received, in order. */
  notifications: { method: string; params: unknown }[];
  /**
   * Resolves with the first notification of `method` that `match`es, among those received from
   * index `fromIndex` on (default: all) and those to come.
   */
  notification<T>(method: string, match?: (params: T) => boolean, fromIndex?: number): Promise<T>;
  /** Resolves with the next diagnostics published for `uri` (optionally for a version). */
  nextDiagnostics(uri: string, version?: number): Promise<PublishDiagnosticsParams>;
  /** The latest diagnostics published for `uri`. */
  latestDiagnostics(uri: string): Diagnostic[] | undefined;
  open(uri: string, text: string, languageId?: string): void;
  change(
    uri: string,
    version: number,
    changes: {
      range?: { start: { line: number; character: number }; end: { line: number; character: number } };
      text: string;
    }[],
  ): void;
  stop(): Promise<void>;
  stderr(): string;
}

export const CLIENT_CAPABILITIES: ClientCapabilities = {
  textDocument: {
    synchronization: { dynamicRegistration: false },
    completion: { completionItem: { snippetSupport: true, documentationFormat: ['markdown', 'plaintext'] } },
    hover: { contentFormat: ['markdown', 'plaintext'] },
    documentSymbol: { hierarchicalDocumentSymbolSupport: true },
    codeAction: {
      codeActionLiteralSupport: { codeActionKind: { valueSet: ['quickfix', 'refactor.rewrite'] } },
    },
    publishDiagnostics: { versionSupport: true, relatedInformation: false },
    definition: { linkSupport: true },
  },
  workspace: { configuration: true, didChangeWatchedFiles: { dynamicRegistration: false } },
  window: { workDoneProgress: true },
};

export interface StartOptions {
  rootUri?: string;
  initializationOptions?: unknown;
  env?: NodeJS.ProcessEnv;
  /** Answers to workspace/configuration, e.g. yaml-language-server's settings. */
  configuration?: (section: string | undefined) => unknown;
}

export async function startServer(
  command: string,
  args: string[],
  options: StartOptions = {},
): Promise<ServerProcess> {
  const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'], env: options.env ?? process.env });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const connection = createProtocolConnection(
    new StreamMessageReader(child.stdout!),
    new StreamMessageWriter(child.stdin!),
  );
  const notifications: { method: string; params: unknown }[] = [];
  const latest = new Map<string, PublishDiagnosticsParams>();
  const waiters: { uri: string; version?: number; resolve: (p: PublishDiagnosticsParams) => void }[] = [];
  connection.onNotification(PublishDiagnosticsNotification.type, (p) => {
    latest.set(p.uri, p);
    for (let i = waiters.length - 1; i >= 0; i--) {
      const w = waiters[i];
      if (
        w.uri === p.uri &&
        (w.version === undefined || p.version === undefined || p.version === w.version)
      ) {
        waiters.splice(i, 1);
        w.resolve(p);
      }
    }
  });
  const notificationWaiters: {
    method: string;
    match: (p: unknown) => boolean;
    resolve: (p: unknown) => void;
  }[] = [];
  connection.onUnhandledNotification((message) => {
    notifications.push({ method: message.method, params: message.params });
    for (let i = notificationWaiters.length - 1; i >= 0; i--) {
      const w = notificationWaiters[i];
      if (w.method === message.method && w.match(message.params)) {
        notificationWaiters.splice(i, 1);
        w.resolve(message.params);
      }
    }
  });
  connection.onRequest('workspace/configuration', (params: { items: { section?: string }[] }) =>
    params.items.map((i) => options.configuration?.(i.section) ?? null),
  );
  connection.onRequest('client/registerCapability', () => null);
  connection.onRequest('window/workDoneProgress/create', () => null);
  connection.listen();
  await connection.sendRequest(InitializeRequest.type, {
    processId: process.pid,
    rootUri: options.rootUri ?? null,
    capabilities: CLIENT_CAPABILITIES,
    initializationOptions: options.initializationOptions,
    workspaceFolders: options.rootUri ? [{ uri: options.rootUri, name: 'workspace' }] : null,
  });
  await connection.sendNotification(InitializedNotification.type, {});
  let version = 0;
  return {
    connection,
    child,
    notifications,
    notification<T>(method: string, match: (params: T) => boolean = () => true, fromIndex = 0): Promise<T> {
      const seen = notifications.slice(fromIndex).find((n) => n.method === method && match(n.params as T));
      if (seen) return Promise.resolve(seen.params as T);
      return new Promise<T>((resolve) =>
        notificationWaiters.push({ method, match: (p) => match(p as T), resolve: (p) => resolve(p as T) }),
      );
    },
    nextDiagnostics: (uri, v) => new Promise((resolve) => waiters.push({ uri, version: v, resolve })),
    latestDiagnostics: (uri) => latest.get(uri)?.diagnostics,
    open(uri, text, languageId = 'yaml') {
      void connection.sendNotification(DidOpenTextDocumentNotification.type, {
        textDocument: { uri, languageId, version: ++version, text },
      });
    },
    change(uri, v, changes) {
      void connection.sendNotification(DidChangeTextDocumentNotification.type, {
        textDocument: { uri, version: v },
        contentChanges: changes as never,
      });
    },
    async stop() {
      try {
        // The server stops running builds before it answers shutdown: give it time to.
        await Promise.race([
          connection.sendRequest(ShutdownRequest.type),
          new Promise((r) => setTimeout(r, 20000)),
        ]);
        await connection.sendNotification(ExitNotification.type);
      } catch {
        /* already gone */
      }
      connection.dispose();
      if (child.exitCode === null) {
        await Promise.race([
          new Promise((r) => child.once('exit', r)),
          new Promise((r) => setTimeout(r, 2000)),
        ]);
        if (child.exitCode === null) child.kill('SIGKILL');
      }
    },
    stderr: () => stderr,
  };
}
