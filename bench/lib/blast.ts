// Pre-encoded load for the socket: writes each connection's frames to a file
// before any clock starts (one session per connection, v2 frames as boundary
// writes them) and blasts them into a receiver with the Go blaster, timing
// until the receiver's own counter shows every record.
import { randomUUID } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { encodeLogsFrame } from "../../src/wire/encoder.ts";
import { startBlaster } from "./go.ts";
import { waitForCount, watchMemory } from "./proc.ts";
import { concatBytes, sampleRequest } from "./records.ts";

export const CONNECTIONS = 4;
/** Records per file (one write of the blaster): 100 frames of 10 or 10 of 100, about 100 KiB. */
const RECORDS_PER_WRITE = 1000;
const RUN_TIMEOUT_MS = 120_000;

export interface Streams {
  files: string[];
  recordsPerFile: number;
  bytesPerFile: number;
}

/** One file per connection, each its own session's frames, encoded before any clock starts. */
export function writeStreams(dir: string, frameRecords: number): Streams {
  const frames = RECORDS_PER_WRITE / frameRecords;
  let bytesPerFile = 0;
  const files = Array.from({ length: CONNECTIONS }, (_, c) => {
    const session = randomUUID();
    const bytes = concatBytes(Array.from({ length: frames }, (_, f) => encodeLogsFrame(sampleRequest(session, f * frameRecords, frameRecords))));
    bytesPerFile = bytes.length;
    const path = join(dir, `frames-${frameRecords}-conn${c}.bin`);
    writeFileSync(path, bytes);
    return path;
  });
  return { files, recordsPerFile: RECORDS_PER_WRITE, bytesPerFile };
}

export interface Target {
  pid: number;
  socket: string;
  /** The receiver's own count: records decoded (bytes for the sink). */
  count(): Promise<number>;
}

/** Records and bytes that `repeat` copies of every stream carry. */
export function streamTotals(streams: Streams, repeat: number): { records: number; bytes: number } {
  return { records: streams.recordsPerFile * CONNECTIONS * repeat, bytes: streams.bytesPerFile * CONNECTIONS * repeat };
}

/**
 * Blasts `repeat` copies of every stream into `target` and waits until its
 * counter rose by `expected` (records, or bytes for a sink); returns the rate
 * in records/s and the peak RSS (MiB). A blaster that fails (the receiver
 * closed a connection) fails the run at once.
 */
export async function blastInto(blasterBinary: string, target: Target, streams: Streams, repeat: number, expected: number, what: string) {
  const blaster = await startBlaster(blasterBinary, target.socket, streams.files, repeat);
  const base = await target.count();
  const mem = watchMemory(target.pid);
  try {
    const t0 = performance.now();
    const wrote = blaster.go();
    const counted = waitForCount(target.count, base + expected, RUN_TIMEOUT_MS, what);
    const t1 = await Promise.race([counted, wrote.then(() => counted)]);
    await wrote;
    return { rate: streamTotals(streams, repeat).records / ((t1 - t0) / 1000), peakMiB: mem.peakMiB() };
  } finally {
    mem.stop();
    await blaster.proc.stop();
  }
}
