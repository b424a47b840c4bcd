// Messages between the SQLite store (main thread) and its writer worker
// (sqlite-writer-worker.ts). Errors cross as a StoreFailure and a message:
// a StoreError does not survive structured cloning.
import type { StoreFailure } from "./errors.ts";
import type { InsertResult, NewBatch } from "./store.ts";

export interface WriterSettings {
  path: string;
  busyTimeoutMs: number;
  synchronous: "NORMAL" | "FULL";
}

export type WriterRequest =
  | { kind: "open"; id: number; settings: WriterSettings }
  | { kind: "commit"; id: number; batches: NewBatch[] }
  | { kind: "cursor"; id: number; consumer: string; lastId: number }
  | { kind: "close"; id: number };

export interface CrossedError {
  failure: StoreFailure;
  message: string;
}

export type CrossedOutcome = { ok: true; value: InsertResult } | { ok: false; error: CrossedError };

export type WriterReply =
  | { kind: "done"; id: number; outcomes?: CrossedOutcome[] }
  | { kind: "failed"; id: number; error: CrossedError };
