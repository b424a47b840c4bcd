// Messages between the process source (main thread) and its reader
// worker (src/process/reader-worker.ts).
import type { ProcConnectorFailure, ReaderPriority } from "../runtime/proc-connector.ts";
import type { ExecFacts, Scope } from "./enrich.ts";

export interface StartReader {
  kind: "start";
  scope: Scope;
  receiveBufferBytes: number;
  /** Int32Array over it: index 0 becomes 1 when the reader must stop. */
  stopFlag: SharedArrayBuffer;
}

/** One exec as the worker read it: kernel time plus /proc facts. */
export interface ReadExec extends ExecFacts {
  /** Kernel monotonic timestamp of the event (ns since boot). */
  monotonicNs: bigint;
  /** The same instant in ns since the Unix epoch. */
  unixNs: bigint;
}

export type ReaderMessage =
  | { kind: "ready"; execOnly: boolean; receiveBufferBytes: number; priority: ReaderPriority }
  | { kind: "failed"; failure: ProcConnectorFailure; message: string }
  | {
      kind: "batch";
      execs: ReadExec[];
      /** ENOBUFS seen since the last batch: each is a run of events the kernel dropped. */
      overruns: number;
      /** Gone before their scope could be read, in cgroup scope: not recorded. */
      unattributed: number;
      /** Datagrams that did not parse. */
      malformed: number;
    }
  /** The worker closed the socket and ends. */
  | { kind: "stopped" };
