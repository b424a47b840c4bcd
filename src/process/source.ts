// src/process/source.ts: kernel process events → exec records → accept(batch).
// A second source beside the socket server: it knows only the `accept`
// callback it is given (the agent wires it under --process-log), never the
// agent. The kernel socket is read in a worker thread (reader-worker.ts).
// Guarantees:
// - every exec the kernel reports for this scope reaches accept(), counted
//   in agent_process_events_total{result="complete"|"truncated"};
// - a kernel overrun (ENOBUFS: the receive buffer was full and the kernel
//   dropped events) is counted in agent_process_events_lost_total, once per
//   overrun (the kernel does not say how many), and reading goes on;
// - a process gone before /proc/<pid> could be read is still recorded, with
//   what could be read, marked truncated; in cgroup scope one gone before its
//   cgroup could be read is counted as dropped{reason="unattributed"};
// - start() fails with a ProcConnectorError naming what is missing (not
//   Linux, no FFI, capabilities, namespace) before any event is taken.
// Not guaranteed: events the kernel dropped without an ENOBUFS (none known);
// argv of a process that rewrote it, or exec'd again, before it was read;
// what accept() does with a batch (that is the caller's guarantee).
import { create } from "@bufbuild/protobuf";
import { TimestampSchema } from "@bufbuild/protobuf/wkt";
import { readFileSync } from "node:fs";
import type { Counter } from "prom-client";
import { type ProcessExec, ProcessExecSchema } from "../gen/boundaryrelay/v1/process_pb.ts";
import { ProcConnectorError, type ReaderPriority } from "../runtime/proc-connector.ts";
import { cmdlineOf } from "./cmdline.ts";
import { ownScope } from "./enrich.ts";
import { checkPrivileges } from "./privilege.ts";
import type { ReadExec, ReaderMessage, StartReader } from "./reader-protocol.ts";

/** Execs of one kernel boot, as they were read. */
export interface ExecBatch {
  /** /proc/sys/kernel/random/boot_id: with pid and monotonic_ns, names each exec. */
  bootId: string;
  execs: ProcessExec[];
  /** When the main thread took the batch (ms since the epoch). */
  receivedAt: number;
}

/** The counters the source keeps (the agent's registry holds them). */
export interface ProcessSourceMetrics {
  eventsTotal: Counter<"result">;
  eventsLost: Counter;
  eventsDropped: Counter<"reason">;
}

export interface ProcessSourceOptions {
  /** cgroup path (as in /proc/<pid>/cgroup) that scopes the records; "" for the agent's PID namespace. */
  cgroup: string;
  accept: (batch: ExecBatch) => void;
  metrics: ProcessSourceMetrics;
  log: (line: string) => void;
  /** Kernel receive buffer to ask for (default 64 MiB: about 80,000 queued events). */
  receiveBufferBytes?: number;
  /** Check capabilities first (default true); tests of the worker path may skip it. */
  checkPrivileges?: boolean;
}

const DEFAULT_RECEIVE_BUFFER = 64 << 20;
const START_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 2_000;

/**
 * The reader worker's URL: beside this file when run from source; in the
 * compiled binary, where build.ts embeds it (it is an extra entry point,
 * and entry points are rooted at their common folder, src/).
 */
function readerWorkerUrl(): string {
  const beside = new URL("./reader-worker.ts", import.meta.url);
  return beside.pathname.startsWith("/$bunfs/") ? "/$bunfs/root/process/reader-worker.ts" : beside.href;
}

export function toProcessExec(e: ReadExec): ProcessExec {
  return create(ProcessExecSchema, {
    time: create(TimestampSchema, { seconds: e.unixNs / 1_000_000_000n, nanos: Number(e.unixNs % 1_000_000_000n) }),
    monotonicNs: e.monotonicNs,
    pid: e.pid,
    ppid: e.ppid,
    uid: e.uid,
    gid: e.gid,
    filename: e.filename,
    argv: e.argv,
    comm: e.comm,
    truncated: e.truncated,
    cmdline: cmdlineOf(e.argv),
  });
}

export class ProcessSource {
  private stopping: Promise<void> | null = null;

  private constructor(
    private readonly worker: Worker,
    private readonly stopFlag: Int32Array,
    private readonly stopped: Promise<void>,
    /** True when the kernel sends only exec events (Linux 6.6+). */
    readonly execOnly: boolean,
    readonly receiveBufferBytes: number,
    /** How the reader thread is scheduled (realtime when CAP_SYS_NICE allowed it). */
    readonly priority: ReaderPriority,
    readonly bootId: string,
  ) {}

  /** Checks privileges, starts the reader and waits until the kernel acknowledged the subscription. */
  static async start(opts: ProcessSourceOptions): Promise<ProcessSource> {
    if (process.platform !== "linux") {
      throw new ProcConnectorError("not_linux", `process logging reads the Linux proc connector; this is ${process.platform}`);
    }
    if (opts.checkPrivileges !== false) checkPrivileges();
    const scope = ownScope(opts.cgroup);
    const bootId = readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
    const m = opts.metrics;
    const complete = m.eventsTotal.labels("complete");
    const truncated = m.eventsTotal.labels("truncated");
    const unattributed = m.eventsDropped.labels("unattributed");
    const worker = new Worker(readerWorkerUrl(), { type: "module" });
    const stopFlag = new SharedArrayBuffer(4);
    let resolveStopped!: () => void;
    const stopped = new Promise<void>((r) => (resolveStopped = r));
    const ready = new Promise<{ execOnly: boolean; receiveBufferBytes: number; priority: ReaderPriority }>((resolve, reject) => {
      const timer = setTimeout(() => reject(new ProcConnectorError("io", `the process reader did not start within ${START_TIMEOUT_MS / 1000} s`)), START_TIMEOUT_MS);
      worker.onerror = (e: ErrorEvent) => {
        clearTimeout(timer);
        reject(new ProcConnectorError("io", `the process reader failed: ${e.message}`));
        opts.log(`error: process logging stopped: the reader thread failed: ${e.message}`);
        resolveStopped();
      };
      worker.onmessage = (e: MessageEvent<ReaderMessage>) => {
        const msg = e.data;
        switch (msg.kind) {
          case "ready":
            clearTimeout(timer);
            resolve(msg);
            return;
          case "failed":
            clearTimeout(timer);
            reject(new ProcConnectorError(msg.failure, msg.message));
            opts.log(`error: process logging stopped: ${msg.message}`);
            return;
          case "batch": {
            if (msg.overruns > 0) {
              m.eventsLost.inc(msg.overruns);
              opts.log(`warn: process events lost: the kernel's receive buffer overran ${msg.overruns} time(s) (agent_process_events_lost_total)`);
            }
            if (msg.unattributed > 0) unattributed.inc(msg.unattributed);
            if (msg.execs.length === 0) return;
            let cut = 0;
            for (const x of msg.execs) if (x.truncated) cut++;
            complete.inc(msg.execs.length - cut);
            truncated.inc(cut);
            opts.accept({ bootId, execs: msg.execs.map(toProcessExec), receivedAt: Date.now() });
            return;
          }
          case "stopped":
            resolveStopped();
            return;
        }
      };
    });
    const start: StartReader = {
      kind: "start", scope, receiveBufferBytes: opts.receiveBufferBytes ?? DEFAULT_RECEIVE_BUFFER, stopFlag,
    };
    worker.postMessage(start);
    try {
      const r = await ready;
      return new ProcessSource(worker, new Int32Array(stopFlag), stopped, r.execOnly, r.receiveBufferBytes, r.priority, bootId);
    } catch (err) {
      worker.terminate();
      throw err;
    }
  }

  /** Stops reading; batches already read are delivered first. Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      Atomics.store(this.stopFlag, 0, 1);
      await Promise.race([this.stopped, new Promise((r) => setTimeout(r, STOP_TIMEOUT_MS))]);
      this.worker.terminate();
    })();
    return this.stopping;
  }
}
