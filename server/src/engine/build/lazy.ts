// Parts of the engine loaded when first needed, so that a cached build or a run does not evaluate
// them. The registry client pulls in https and tls (several ms of start-up). require() rather than
// import(): it works both in the esbuild bundles (the module is wrapped and evaluated on first use)
// and in-process under tsx's CommonJS hook, which the test runner uses and import() bypasses.
type PullModule = typeof import('../registry/pull');

let pull: PullModule | undefined;

export function loadPull(): PullModule {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  pull ??= require('../registry/pull') as PullModule;
  return pull;
}
