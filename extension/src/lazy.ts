// Loads lsp.ts (the language client library and the protocol messages) on first use, so that
// activation does not pay for evaluating it.
export type Lsp = typeof import('./lsp');

let loading: Promise<Lsp> | undefined;
export function loadLsp(): Promise<Lsp> {
  loading ??= import('./lsp');
  return loading;
}
