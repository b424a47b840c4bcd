// The reader thread of the process source: blocks on the proc connector
// socket (off the main thread, so a busy event loop does not delay it),
// reads /proc/<pid> the moment each exec arrives (the process may exit
// within a millisecond), and posts batches of execs to the main thread.
// Batches leave at 256 execs, 25 ms after their first exec, or when the
// socket has been quiet for a receive timeout (100 ms), whichever is first.
// Stops within one receive timeout of the stop flag being set.
import { openProcConnector } from "../runtime/adapter.ts";
import { OVERRUN, type ProcConnector, ProcConnectorError } from "../runtime/proc-connector.ts";
import { readExec, type Scope } from "./enrich.ts";
import { parseProcEvents } from "./proc-event.ts";
import type { ReadExec, ReaderMessage, StartReader } from "./reader-protocol.ts";

const BATCH_EXECS = 256;
const BATCH_DELAY_MS = 25;
const RECEIVE_TIMEOUT_MS = 100;

declare function postMessage(message: ReaderMessage): void;
declare let onmessage: ((e: MessageEvent<StartReader>) => void) | null;

const post = (m: ReaderMessage) => postMessage(m);

/** Wall-clock ns minus monotonic ns, now (re-read per batch: follows clock steps). */
function clockOffsetNs(connector: ProcConnector): bigint {
  const wallNs = BigInt(Math.round((performance.timeOrigin + performance.now()) * 1e6));
  return wallNs - connector.monotonicNs();
}

function run(connector: ProcConnector, scope: Scope, stop: Int32Array): void {
  const buf = new Uint8Array(8192);
  let execs: ReadExec[] = [];
  let overruns = 0;
  let unattributed = 0;
  let malformed = 0;
  let firstAt = 0;
  let offset = clockOffsetNs(connector);
  const flush = () => {
    post({ kind: "batch", execs, overruns, unattributed, malformed });
    execs = [];
    overruns = unattributed = malformed = 0;
    offset = clockOffsetNs(connector);
  };
  while (Atomics.load(stop, 0) === 0) {
    const n = connector.receive(buf);
    if (n === OVERRUN) overruns++;
    for (const event of n > 0 ? parseProcEvents(buf.subarray(0, n)) : []) {
      if (event.kind === "malformed") malformed++;
      if (event.kind !== "exec") continue;
      const outcome = readExec(event.tgid, scope);
      if (outcome.kind === "out_of_scope") continue;
      if (outcome.kind === "unattributed" && scope.kind === "cgroup") {
        unattributed++;
        continue;
      }
      if (execs.length === 0) firstAt = Date.now();
      execs.push({ ...outcome.facts, monotonicNs: event.timestampNs, unixNs: event.timestampNs + offset });
    }
    const pending = execs.length > 0 || overruns > 0 || unattributed > 0 || malformed > 0;
    if (pending && (n === 0 || execs.length >= BATCH_EXECS || Date.now() - firstAt >= BATCH_DELAY_MS)) flush();
  }
  if (execs.length > 0 || overruns > 0 || unattributed > 0 || malformed > 0) flush();
}

onmessage = async (e: MessageEvent<StartReader>) => {
  const start = e.data;
  let connector: ProcConnector;
  try {
    connector = await openProcConnector({ receiveBufferBytes: start.receiveBufferBytes, receiveTimeoutMs: RECEIVE_TIMEOUT_MS });
  } catch (err) {
    const failure = err instanceof ProcConnectorError ? err.failure : "io";
    post({ kind: "failed", failure, message: (err as Error).message });
    return;
  }
  const priority = connector.raiseThreadPriority();
  post({ kind: "ready", execOnly: connector.execOnly, receiveBufferBytes: connector.receiveBufferBytes, priority });
  try {
    run(connector, start.scope, new Int32Array(start.stopFlag));
  } catch (err) {
    const failure = err instanceof ProcConnectorError ? err.failure : "io";
    post({ kind: "failed", failure, message: (err as Error).message });
  } finally {
    connector.close();
    post({ kind: "stopped" });
  }
};
