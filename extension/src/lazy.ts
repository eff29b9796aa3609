// Loads lsp.ts (the language client library and the protocol messages) on first use, after
// activation. esbuild.mjs builds it as its own bundle, out/lsp.js, and keeps `./lsp` external in
// out/extension.js: activation then neither parses nor evaluates the client library (350 KB).
export type Lsp = typeof import('./lsp');

let loaded: Lsp | undefined;
export function loadLsp(): Promise<Lsp> {
  // require, not import(): out/lsp.js is CommonJS and resolves `vscode` through the host's require.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  loaded ??= require('./lsp') as Lsp;
  return Promise.resolve(loaded);
}
