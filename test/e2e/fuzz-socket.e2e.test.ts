// Fuzzed frames must not disturb a valid stream (issue 9, hostile suite):
// 100,000 mutations of valid frames (flipped bits, wrong lengths, random
// tags, truncations, random payloads) written by four writers, each opening a
// new connection after a mutation that breaks the stream, while one more
// connection writes a valid stream spread over the whole run. The compiled
// agent (--output coderd, to a compiled coderd) must stay up, and coderd
// must store every record of the valid stream exactly once: a fuzzed record
// the agent accepted but coderd refused would hold up delivery. Seeded: a
// failure replays (FUZZ_SEED).
import { afterAll, expect, test } from "bun:test";
import type { Socket } from "node:net";
import { join } from "node:path";
import { encodeLogsFrame, encodeLogsFrameV1, encodeStatusFrame } from "../../src/wire/encoder.ts";
import { create } from "@bufbuild/protobuf";
import { BoundaryLogSchema, ReportBoundaryLogsRequestSchema } from "../../src/gen/coder/agent/v2/boundary_pb.ts";
import { BoundaryStatusSchema } from "../../src/gen/coder/boundarylogproxy/codec/v1/codec_pb.ts";
import {
  A, binary, closed, coderdPaths, connectUnix, keyOf, logsFrames, metric, type Proc, scrape, startAgent, startCoderd, storedCounts, writeBytes,
} from "./harness.ts";
import { until } from "../helpers/until.ts";
import { tempDir } from "../helpers/temp.ts";

const SEED = Number(process.env.FUZZ_SEED ?? 0x5eed);
const FUZZ_FRAMES = 100_000;
const FUZZ_CONNECTIONS = 4;
const FRAMES_PER_WRITE = 10;
const VALID_SESSION = "ffffffff-0000-4000-8000-000000000001";
const VALID_FRAMES = 2000;
const VALID_PER_FRAME = 5;

const { dir, cleanup } = tempDir("br-fuzz-socket-");
const procs = new Set<Proc>();
afterAll(async () => {
  for (const p of procs) await p.stop("SIGKILL");
  cleanup();
});

/** mulberry32: a small seeded PRNG, so a failing run can be replayed with FUZZ_SEED. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Valid frames of every kind to mutate: v1 and v2 logs of 1–3 records, v2 status. */
function seedFrames(): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < 30; i++) {
    const logs = Array.from({ length: 1 + (i % 3) }, (_, k) =>
      create(BoundaryLogSchema, {
        allowed: k % 2 === 0,
        time: { seconds: 1765227526n + BigInt(i), nanos: i * 1000 },
        sequenceNumber: i * 3 + k,
        resource: { case: "httpRequest", value: { method: "POST", url: `https://fuzz${i}.example.com/p?q=${k}`, matchedRule: k % 2 === 0 ? "domain=example.com" : "" } },
      }),
    );
    const request = create(ReportBoundaryLogsRequestSchema, { sessionId: `0000000${i % 10}-1111-4111-8111-11111111111${i % 10}`, logs });
    out.push(i % 2 === 0 ? encodeLogsFrame(request) : encodeLogsFrameV1(request));
  }
  out.push(encodeStatusFrame(create(BoundaryStatusSchema, { droppedChannelFull: 3n, droppedBatchFull: 1n })));
  return out;
}

/**
 * One mutation of a valid frame. Most keep the header's length true, so the
 * stream stays in step; `last` mutations (a changed header, a wrong length,
 * a truncation) desynchronise it or make the agent close the connection, so
 * they end their connection and the next frames go on a new one.
 */
function mutate(base: Uint8Array, rand: () => number): { bytes: Uint8Array; last: boolean } {
  const int = (n: number) => Math.floor(rand() * n);
  const f = base.slice();
  const roll = int(100);
  if (roll < 45) {
    // flipped bits in the payload
    for (let n = 1 + int(4); n > 0; n--) f[4 + int(f.length - 4)]! ^= 1 << int(8);
  } else if (roll < 70) {
    // a byte near a field's start (tags, varints, lengths) replaced
    f[4 + int(Math.min(12, f.length - 4))] = int(256);
  } else if (roll < 82) {
    // random payload bytes under a correct header
    for (let i = 4; i < f.length; i++) f[i] = int(256);
  } else if (roll < 92) {
    // an unmodified frame
  } else if (roll < 94) {
    f[int(4)]! ^= 1 << int(8); // a flipped bit in the header
    return { bytes: f, last: true };
  } else if (roll < 96) {
    f[0] = int(256); // a random tag
    return { bytes: f, last: true };
  } else if (roll < 98) {
    // a wrong length, up to just over the 32 KiB limit
    f[1] = 0;
    f[2] = int(0x81);
    f[3] = int(256);
    return { bytes: f, last: true };
  } else {
    return { bytes: f.subarray(0, 4 + int(f.length - 4)), last: true }; // truncated, full length claimed
  }
  return { bytes: f, last: false };
}

/** Writes `frames` mutations; returns how many connections that took. */
async function fuzzConnection(socketPath: string, frames: number, rand: () => number, seeds: Uint8Array[], progress: { frames: number }): Promise<number> {
  let connections = 0;
  let socket: Socket | null = null;
  let parts: Uint8Array[] = [];
  for (let n = 0; n < frames; n++) {
    const { bytes, last } = mutate(seeds[Math.floor(rand() * seeds.length)]!, rand);
    parts.push(bytes);
    progress.frames++;
    if (!last && parts.length < FRAMES_PER_WRITE && n + 1 < frames) continue;
    if (socket === null) {
      socket = await connectUnix(socketPath);
      socket.on("error", () => {});
      connections++;
    }
    const s: Socket = socket;
    await writeBytes(s, Buffer.concat(parts)).catch(() => {});
    parts = [];
    if (last) {
      s.end();
      await closed(s);
      socket = null;
    }
  }
  socket?.end();
  return connections;
}

test(
  "fuzzed frames do not disturb a valid stream: 100,000 mutated frames from 4 writers, every valid record is stored once by coderd, the agent stays up",
  async () => {
    binary();
    const paths = coderdPaths(tempDir("br-fuzz-coderd-").dir);
    const coderd = await startCoderd(paths);
    procs.add(coderd);
    const socket = join(dir, "audit.sock");
    const agent = await startAgent({ socket, spoolDir: join(dir, "spool") }, coderd.port, ["--retry-max", "1s"]);
    procs.add(agent);
    const rand = prng(SEED);
    const seeds = seedFrames();

    // The valid stream is spread over the whole fuzz run: 10 frames per 500 fuzzed ones.
    const progress = { frames: 0 };
    const valid = (async () => {
      const s = await connectUnix(socket);
      for (let f = 0; f < VALID_FRAMES; f += 10) {
        while (progress.frames < (f / VALID_FRAMES) * FUZZ_FRAMES) await new Promise((r) => setTimeout(r, 1));
        await writeBytes(s, logsFrames(VALID_SESSION, f * VALID_PER_FRAME, 10, VALID_PER_FRAME));
      }
      s.end();
    })();
    const fuzzers = Array.from({ length: FUZZ_CONNECTIONS }, () => fuzzConnection(socket, FUZZ_FRAMES / FUZZ_CONNECTIONS, rand, seeds, progress));
    const connections = (await Promise.all(fuzzers)).reduce((a, b) => a + b, 0);
    await valid;

    const wanted = VALID_FRAMES * VALID_PER_FRAME;
    const storedValid = () => {
      const stored = storedCounts(paths.db);
      let n = 0;
      for (let seq = 0; seq < wanted; seq++) if (stored.get(keyOf(VALID_SESSION, seq)) === 1) n++;
      return n;
    };
    let stored = 0;
    await until(() => (stored = storedValid()) >= wanted, { what: "every record of the valid stream in coderd's store", timeoutMs: 60_000, intervalMs: 500 }).catch(() => {});
    expect(agent.child.proc.exitCode).toBeNull();
    expect((await fetch(`http://127.0.0.1:${agent.port}/healthz`)).status).toBe(200);
    expect(stored).toBe(wanted);
    const m = await scrape(agent.port);
    const rejected = metric(m, `${A}frames_rejected_total`);
    const decoded = metric(m, `${A}frames_received_total`) - VALID_FRAMES;
    expect(rejected).toBeGreaterThan(5000);
    expect(rejected + decoded).toBeGreaterThan(FUZZ_FRAMES / 2); // most of the fuzz reached the decoder
    console.log(`fuzz (seed ${SEED}): ${FUZZ_FRAMES} mutated frames, ${connections} connections, ${decoded} decoded, ${rejected} rejected, ${metric(m, `${A}records_received_total`)} records received; all ${wanted} valid records stored once`);
    expect(await agent.stop("SIGTERM")).toBe(0);
    procs.delete(agent);
  },
  300_000,
);
