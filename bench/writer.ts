// The bench's load generator for boundary's socket, run as its own process
// so it does not share a thread with what it measures. Unlike `send`, it
// encodes every v2 frame before the clock starts and then only writes bytes:
// it measures the agent, not the generator.
//
//   bun bench/writer.ts --socket S [--sessions K] [--records N] [--frame-records 10]
//                       [--unique] [--rate R --stamp]
//
// Unpaced: each session writes its share as chunks of 100 frames, as fast as
// the socket takes them. --unique gives every record its own (session,
// sequence number) so coderd stores them all; without it each session repeats
// one pre-encoded chunk (fine for --output discard).
// Paced (--rate R): frames are encoded when due, round-robin over the
// sessions, and --stamp sets each record's time to the moment of its write
// (for latency). Prints "ready N" once connected, starts on a line on stdin,
// and prints {"sent":N,"elapsedMs":T} when every byte was written.
import { randomUUID } from "node:crypto";
import { createConnection, type Socket } from "node:net";
import { createInterface } from "node:readline";
import { encodeLogsFrame } from "../src/wire/encoder.ts";
import { concatBytes, sampleRequest } from "./lib/records.ts";

const CHUNK_FRAMES = 100;

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : fallback;
}
const flag = (name: string) => process.argv.includes(`--${name}`);

const socketPath = arg("socket", "");
const sessions = Number(arg("sessions", "1"));
const frameRecords = Number(arg("frame-records", "10"));
const rate = Number(arg("rate", "0"));
const unique = flag("unique");
const stamp = flag("stamp");
const wanted = Number(arg("records", "100000"));

function connect(path: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = createConnection({ path });
    s.once("connect", () => resolve(s));
    s.once("error", reject);
  });
}

function write(socket: Socket, bytes: Uint8Array): Promise<void> | undefined {
  if (socket.write(bytes)) return undefined;
  return new Promise((resolve) => socket.once("drain", resolve));
}

function flushed(socket: Socket): Promise<void> {
  return new Promise((resolve, reject) => socket.end(() => resolve()).once("error", reject));
}

/** Every session's chunks, pre-encoded; returns them and the records they hold. */
function preEncode(ids: string[]): { chunks: Uint8Array[][]; records: number } {
  const framesPerSession = Math.max(1, Math.round(wanted / sessions / frameRecords));
  const chunks = ids.map((id) => {
    const list: Uint8Array[] = [];
    if (!unique) {
      const n = Math.min(CHUNK_FRAMES, framesPerSession);
      const one = concatBytes(Array.from({ length: n }, (_, f) => encodeLogsFrame(sampleRequest(id, f * frameRecords, frameRecords))));
      for (let f = 0; f < framesPerSession; f += n) list.push(one);
      return list;
    }
    for (let f = 0; f < framesPerSession; f += CHUNK_FRAMES) {
      const n = Math.min(CHUNK_FRAMES, framesPerSession - f);
      list.push(concatBytes(Array.from({ length: n }, (_, k) => encodeLogsFrame(sampleRequest(id, (f + k) * frameRecords, frameRecords)))));
    }
    return list;
  });
  const framesEach = unique ? framesPerSession : Math.ceil(framesPerSession / Math.min(CHUNK_FRAMES, framesPerSession)) * Math.min(CHUNK_FRAMES, framesPerSession);
  return { chunks, records: framesEach * frameRecords * sessions };
}

async function unpaced(sockets: Socket[], chunks: Uint8Array[][]): Promise<void> {
  await Promise.all(
    sockets.map(async (s, i) => {
      for (const c of chunks[i]!) await write(s, c);
    }),
  );
}

async function paced(sockets: Socket[], total: number): Promise<void> {
  const frames = Math.ceil(total / frameRecords);
  const seq = new Array<number>(sockets.length).fill(0);
  const ids = sockets.map(() => randomUUID());
  const startedAt = performance.now();
  let sent = 0;
  while (sent < frames) {
    const due = Math.min(frames, Math.floor(((performance.now() - startedAt) * rate) / 1000 / frameRecords));
    for (; sent < due; sent++) {
      const k = sent % sockets.length;
      const req = sampleRequest(ids[k]!, seq[k]!, frameRecords);
      seq[k]! += frameRecords;
      if (stamp) {
        const ms = performance.timeOrigin + performance.now();
        const seconds = Math.floor(ms / 1000);
        for (const log of req.logs) log.time = { $typeName: "google.protobuf.Timestamp", seconds: BigInt(seconds), nanos: Math.floor((ms - seconds * 1000) * 1e6) };
      }
      await write(sockets[k]!, encodeLogsFrame(req));
    }
    await new Promise((r) => setTimeout(r, 1));
  }
}

const ids = Array.from({ length: sessions }, () => randomUUID());
const plan = rate > 0 ? { chunks: [], records: Math.ceil(wanted / frameRecords) * frameRecords } : preEncode(ids);
const sockets = await Promise.all(ids.map(() => connect(socketPath)));
process.stdout.write(`ready ${plan.records}\n`);
const lines = createInterface({ input: process.stdin });
await new Promise((resolve) => lines.once("line", resolve));
lines.close();
const start = performance.now();
if (rate > 0) await paced(sockets, plan.records);
else await unpaced(sockets, plan.chunks);
await Promise.all(sockets.map(flushed));
process.stdout.write(`${JSON.stringify({ sent: plan.records, elapsedMs: performance.now() - start })}\n`);
process.exit(0);
