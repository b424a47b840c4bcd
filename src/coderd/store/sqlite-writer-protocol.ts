// Messages from the SQLite store (main thread, sqlite-writer.ts) to its
// writer worker (sqlite-writer-worker.ts); the replies are worker-calls.ts's.
// A commit answers with one outcome per batch, a failed batch's error as a
// StoreError's reason and message (a StoreError does not survive structured
// cloning).
import type { StoreFailure } from "./errors.ts";
import type { BatchWritten } from "./sqlite-insert.ts";
import type { NewBatch } from "./store.ts";

export interface WriterSettings {
  path: string;
  busyTimeoutMs: number;
  synchronous: "NORMAL" | "FULL";
}

export type WriterRequest =
  | { kind: "open"; id: number; settings: WriterSettings }
  /**
   * `batches`: NewBatch[] as JSON (capturedAt as its ISO text). One string
   * crosses to the worker far cheaper than a thousand records as objects
   * through structured cloning: 1.04 → 0.17 ms of the main thread per
   * 1000-record batch (measured on this 2-core machine).
   */
  | { kind: "commit"; id: number; batches: string }
  | { kind: "cursor"; id: number; consumer: string; lastId: number }
  | { kind: "close"; id: number };

export interface CrossedError {
  failure: StoreFailure;
  message: string;
}

export const packBatches = (batches: NewBatch[]): string => JSON.stringify(batches);

export function unpackBatches(json: string): NewBatch[] {
  const batches = JSON.parse(json) as Array<Omit<NewBatch, "capturedAt"> & { capturedAt: string }>;
  return batches.map((b) => ({ ...b, capturedAt: new Date(b.capturedAt) }));
}

export type CrossedOutcome = { ok: true; value: BatchWritten } | { ok: false; error: CrossedError };
