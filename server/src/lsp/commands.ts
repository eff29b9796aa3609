// Command identifiers the language service puts into code lenses and fixes. The same strings as
// protocol.ts's Commands (kept here so that lsp/ stays free of protocol imports; a unit test
// checks that they agree).
export const Commands = {
  build: 'strata.build',
  rebuild: 'strata.rebuild',
  verify: 'strata.verify',
  lock: 'strata.lock',
  /**
   * Runs a workload in a terminal: a client-side command (the VS Code extension's), arguments
   * [specUri, workloadName]. Other clients run `strata run NAME` themselves.
   */
  runWorkload: 'strata.runWorkload',
} as const;
