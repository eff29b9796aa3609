// File patterns, in a module of their own so that nothing on the activation path imports client.ts
// (which loads vscode-languageclient).

/** Specs: what the Environments view lists and the commands act on. */
export const SPEC_GLOB = '**/{strata.yaml,*.strata.yaml}';
/** Files the language server serves. */
export const SERVED_PATTERN = '**/{strata.yaml,*.strata.yaml,strata.lock}';
