// The store's one error type. Every driver failure (bun:sqlite, node:sqlite,
// later a PostgreSQL driver) becomes a StoreError with a closed reason inside
// the store that met it; callers tell failures apart by `failure`, never by
// message text. The edges translate: the CLI turns `bad_location` into a
// configuration error (exit 2) and anything else into exit 1; ingest answers
// `unavailable`, so the agent keeps the batch and retries; /readyz says 503.
export type StoreFailure =
  /** The store is there but does not answer now (locked, busy, I/O error): retrying may help. */
  | "unreachable"
  /** The location given (--db) cannot hold a store: a directory that cannot be made, a path that is not a file. */
  | "bad_location"
  /** The store was written by a newer boundary-relay. */
  | "schema_newer"
  /** The file is not a database, or is damaged. */
  | "corrupt";

export class StoreError extends Error {
  override readonly name = "StoreError";
  constructor(
    readonly failure: StoreFailure,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The message of any thrown value, for wrapping into a StoreError. */
export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
