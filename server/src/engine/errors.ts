// Typed errors shared by every part of the engine (as go-containerregistry's transport.Error):
// a stable code for programs, a message in the user's terms, a hint that says how to fix it,
// and the cause for logs. Front ends print `message` and `hint`; never a stack for a user error.

export type ErrorCode =
  | 'USAGE' // bad command line
  | 'SPEC' // strata.yaml is invalid
  | 'LOCK' // strata.lock is invalid or stale
  | 'REF' // image reference malformed or not found
  | 'REGISTRY' // registry refused or misbehaved
  | 'DIGEST' // content does not match its digest
  | 'LAYER' // hostile or malformed layer
  | 'STORE' // store corrupt or locked
  | 'BUILD' // a build step failed
  | 'SANDBOX' // strata-box failed
  | 'DRIFT' // locked rebuild differs
  | 'CANCELLED'
  | 'INTERNAL';

export class StrataError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly hint?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'StrataError';
  }

  /** The text a user sees: the message, then the hint on its own line. */
  render(): string {
    return this.hint ? `${this.message}\n  hint: ${this.hint}` : this.message;
  }
}

export function isStrataError(e: unknown): e is StrataError {
  return e instanceof StrataError;
}
