// Volatile files that package managers and runtimes write as a side effect and that differ from one
// build to the next (logs with times, caches, package lists, byte code): dropped from a step's layer
// so that the same step gives the same diff_id on any day and any machine (issue 5 §2). Times of
// what remains are clamped by the layer writer; ownership is normalised by the scan.
// Dropping a changed file that also exists lower down leaves the lower version visible, which is
// what a reader of the image expects from "the build did not really change it". Deletions
// (whiteouts) are kept: they are the user's intent.

const VOLATILE: RegExp[] = [
  // apt and dpkg logs
  /^var\/log\/apt\/.+/,
  /^var\/log\/(dpkg|alternatives|bootstrap)\.log$/,
  // apt package lists and downloaded archives (cleaned in the step too; this catches leftovers)
  /^var\/lib\/apt\/lists\/.+/,
  /^var\/cache\/apt\/.+\.bin$/,
  /^var\/cache\/apt\/archives\/.+/,
  // backups that dpkg and debconf keep of their own databases
  /^var\/lib\/dpkg\/[^/]+-old$/,
  /^var\/cache\/debconf\/[^/]+-old$/,
  // ldconfig's cache of file stamps (inode, mtime), different on every machine
  /^var\/cache\/ldconfig\/aux-cache$/,
  // Python byte code: embeds source mtimes or is written in varying order; recompiled on import
  /(^|\/)__pycache__(\/.*)?$/,
  /\.py[co]$/,
  // pip's and others' per-user caches, and our own step hand-over folder
  /^root\/\.cache(\/.*)?$/,
  /^\.strata-step(\/.*)?$/,
];

export function isVolatile(path: string): boolean {
  return VOLATILE.some((re) => re.test(path));
}

/** Passes a step's entries on, without the volatile ones (whiteouts always pass). */
export async function* withoutVolatile<
  T extends { entry: { type: string; path: string }; data?: Uint8Array | AsyncIterable<Uint8Array> },
>(entries: AsyncIterable<T>): AsyncGenerator<T> {
  for await (const e of entries) {
    if (e.entry.type !== 'whiteout' && e.entry.type !== 'opaque' && isVolatile(e.entry.path)) {
      // The data of a skipped file must still be consumed before the next entry arrives.
      if (e.data && !(e.data instanceof Uint8Array)) for await (const _ of e.data) void _;
      continue;
    }
    yield e;
  }
}
