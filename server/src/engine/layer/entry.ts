// The layer codec's entry type is the sandbox's (server/src/engine/sandbox/entry.ts): what the
// reader makes from tar entries is exactly what `strata-box apply` consumes, and what `strata-box
// scan` produces is what the writer turns into tar. Root is '.'; whiteouts and opaque markers are
// decoded (the tar spelling `.wh.NAME` lives only in read.ts and tar-header.ts).
export type { EntryData, EntryWithData, LayerEntry, LayerEntryType } from '../sandbox/entry';
export { ENTRY_LIMITS } from '../sandbox/entry';
