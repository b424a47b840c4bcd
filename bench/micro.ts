// Micro benchmarks of the hot paths that do not need a server: frame
// decode and encode (records/s), emission line formatting (lines/s) and
// SQLite inserts through the real store (rows/s, 1000-record batches, each
// its own session, into a file in a temp dir as coderd opens it).
import { mkdtempSync, rmSync } from "node:fs";
import { randomUUID } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hostOf } from "../src/record/ids.ts";
import { SqliteStore } from "../src/coderd/store/sqlite.ts";
import type { NewRecord } from "../src/coderd/store/store.ts";
import { rfc3339Nano } from "../src/record/time.ts";
import { formatJson, formatLineRecord, formatText, type EmittedRecord } from "../src/record/emission.ts";
import { LINES_PER_WRITE, lineOfStored, STDERR_CONSUMER } from "../src/coderd/line-emitter.ts";
import type { AgentIdentity } from "../src/record/identity.ts";
import { FrameDecoder } from "../src/wire/decoder.ts";
import { encodeLogsFrame } from "../src/wire/encoder.ts";
import { concatBytes, sampleRequest } from "./lib/records.ts";
import { type Figure, repeat } from "./lib/stats.ts";

const SESSION = "8f7c2a4e-3b1d-4c5e-9f60-1a2b3c4d5e6f";
const RECORDS_PER_FRAME = 10; // what the real boundary client batches

function timed(work: () => number): number {
  const start = performance.now();
  const count = work();
  return count / ((performance.now() - start) / 1000);
}

function streamOfFrames(frames: number): Uint8Array {
  return concatBytes(Array.from({ length: frames }, (_, i) => encodeLogsFrame(sampleRequest(SESSION, i * RECORDS_PER_FRAME, RECORDS_PER_FRAME))));
}

export async function microBench(repeats: number, scale: number): Promise<Figure[]> {
  const frames = Math.round(20_000 * scale);
  const stream = streamOfFrames(frames);
  const decode = () =>
    timed(() => {
      const decoder = new FrameDecoder();
      let records = 0;
      for (let off = 0; off < stream.length; off += 65536) {
        for (const f of decoder.push(stream.subarray(off, off + 65536))) if (f.kind === "logs") records += f.request.logs.length;
      }
      return records;
    });
  const requests = Array.from({ length: 1000 }, (_, i) => sampleRequest(SESSION, i * RECORDS_PER_FRAME, RECORDS_PER_FRAME));
  const encode = () =>
    timed(() => {
      for (let i = 0; i < frames; i++) encodeLogsFrame(requests[i % requests.length]!);
      return frames * RECORDS_PER_FRAME;
    });
  const records: EmittedRecord[] = requests.flatMap((r) => r.logs.map((log) => ({ sessionId: SESSION, confinedProcessName: "claude", log })));
  const identity: AgentIdentity = {
    agentId: "a", agentName: "main", workspaceId: "b0000000-0000-4000-8000-000000000002", workspaceName: "dev",
    ownerId: "c", ownerName: "alice", templateId: "d0000000-0000-4000-8000-000000000004", templateVersionId: "e0000000-0000-4000-8000-000000000005",
  };
  const lines = (format: typeof formatText) => () =>
    timed(() => {
      const now = new Date();
      let bytes = 0;
      const n = Math.round(200_000 * scale);
      for (let i = 0; i < n; i++) bytes += format(records[i % records.length]!, identity, now).length;
      return bytes > 0 ? n : 0;
    });
  // withLines: also what coderd's line emitter does per batch (read the
  // records past the stderr cursor, format their lines, move the cursor).
  const sqliteInsert = async (withLines: boolean) => {
    const dir = mkdtempSync(join(tmpdir(), "bench-sqlite-"));
    const store = await SqliteStore.open(join(dir, "coderd.db"));
    try {
      const batches = Math.round(200 * scale);
      const rows: NewRecord[] = requests.slice(0, 100).flatMap((r) => r.logs).map((log) => {
        const http = log.resource.value as { method: string; url: string; matchedRule: string };
        return { sequenceNumber: log.sequenceNumber, allowed: log.allowed, httpMethod: http.method, httpUrl: http.url, httpHost: hostOf(http.url), matchedRule: http.matchedRule, eventTime: rfc3339Nano(log.time) };
      });
      const start = performance.now();
      for (let b = 0; b < batches; b++) {
        await store.insertBatch({ identity, sessionId: randomUUID(), deduplicate: true, confinedProcessName: "claude", capturedAt: new Date(), records: rows });
        if (withLines) {
          const taken = await store.unconsumed(STDERR_CONSUMER, LINES_PER_WRITE);
          let bytes = 0;
          for (const r of taken) bytes += formatLineRecord("text", lineOfStored(r), new Date()).length;
          if (bytes > 0) await store.advanceCursor(STDERR_CONSUMER, taken.at(-1)!.id);
        }
      }
      return (batches * rows.length) / ((performance.now() - start) / 1000);
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  };
  const params = { frames, records_per_frame: RECORDS_PER_FRAME };
  return [
    await repeat("micro.decode", "records/s", "higher", repeats, decode, params),
    await repeat("micro.encode", "records/s", "higher", repeats, encode, params),
    await repeat("micro.format_text", "lines/s", "higher", repeats, lines(formatText)),
    await repeat("micro.format_json", "lines/s", "higher", repeats, lines(formatJson)),
    await repeat("micro.sqlite_insert", "rows/s", "higher", repeats, () => sqliteInsert(false), { batch_records: 1000, store: "SqliteStore.insertBatch (WAL, synchronous=FULL)" }),
    await repeat("micro.sqlite_insert_and_lines", "rows/s", "higher", repeats, () => sqliteInsert(true), { batch_records: 1000, store: "insertBatch + unconsumed + text lines + advanceCursor per batch" }),
  ];
}
