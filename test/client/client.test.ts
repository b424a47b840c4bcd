import { afterEach, expect, test } from "bun:test";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { BoundaryClient, type ClientRecord } from "../../src/client/client.ts";
import { type DecodedFrame, FrameDecoder } from "../../src/wire/decoder.ts";
import { until } from "../helpers/until.ts";
import { tempDir } from "../helpers/temp.ts";

/** A real Unix-socket listener that decodes and keeps every frame it gets. */
class FrameCollector {
  frames: DecodedFrame[] = [];
  connections = 0;
  private server: Server | null = null;
  constructor(readonly path: string) {}
  async listen(): Promise<void> {
    this.server = createServer((socket) => {
      this.connections++;
      const decoder = new FrameDecoder();
      socket.on("data", (chunk: Buffer) => this.frames.push(...decoder.push(chunk)));
      socket.on("error", () => {});
    });
    await new Promise<void>((resolve) => this.server!.listen(this.path, resolve));
  }
  async close(): Promise<void> {
    const s = this.server;
    this.server = null;
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  }
  get logFrames() {
    return this.frames.filter((f) => f.kind === "logs") as Extract<DecodedFrame, { kind: "logs" }>[];
  }
  get statusFrames() {
    return this.frames.filter((f) => f.kind === "status") as Extract<DecodedFrame, { kind: "status" }>[];
  }
  get records() {
    return this.logFrames.flatMap((f) => f.request.logs);
  }
}

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(listen = true) {
  const { dir, cleanup } = tempDir("br-client-");
  const collector = new FrameCollector(join(dir, "s.sock"));
  if (listen) await collector.listen();
  cleanups.push(cleanup, () => collector.close());
  return collector;
}

function client(path: string, opts: Partial<ConstructorParameters<typeof BoundaryClient>[0]> = {}) {
  const c = new BoundaryClient({ socketPath: path, flushInterval: 60_000, ...opts });
  cleanups.push(async () => void (await c.close(100)));
  return c;
}

const rec = (i: number): ClientRecord =>
  i % 2 === 0
    ? { allowed: true, method: "GET", url: `https://github.com/r/${i}`, matchedRule: "domain=github.com" }
    : { allowed: false, method: "POST", url: `https://pastebin.com/${i}`, matchedRule: "ignored for denies" };

test("batches of 10 go out as soon as full; close() flushes the rest; sequence numbers from 0", async () => {
  const server = await setup();
  const c = client(server.path, { sessionId: "11111111-2222-4333-8444-555555555555", confinedProcessName: "codex" });
  for (let i = 0; i < 25; i++) await c.send(rec(i));
  await until(() => server.logFrames.length === 2, { what: "two full frames" });
  expect(server.logFrames.map((f) => f.request.logs.length)).toEqual([10, 10]);
  expect(await c.close()).toBe(0);
  await until(() => server.logFrames.length === 3, { what: "third frame" });
  expect(server.logFrames[2]!.request.logs.length).toBe(5);
  expect(server.records.map((l) => l.sequenceNumber)).toEqual(Array.from({ length: 25 }, (_, i) => i));
  const first = server.logFrames[0]!.request;
  expect(first.sessionId).toBe("11111111-2222-4333-8444-555555555555");
  expect(first.confinedProcessName).toBe("codex");
  const [allowed, denied] = server.records;
  expect(allowed!.resource.case === "httpRequest" && allowed!.resource.value.matchedRule).toBe("domain=github.com");
  expect(denied!.resource.case === "httpRequest" && denied!.resource.value.matchedRule).toBe("");
  expect(server.statusFrames).toHaveLength(0); // nothing dropped, no status
  expect(c.stats.sent).toBe(25);
});

test("a partial batch is flushed by the timer after its first record", async () => {
  const server = await setup();
  const c = client(server.path, { flushInterval: 50 });
  c.log(rec(0));
  c.log(rec(1));
  c.log(rec(2));
  await until(() => server.logFrames.length === 1, { what: "timer flush" });
  expect(server.records).toHaveLength(3);
  expect(c.pending).toBe(0);
});

test("a full channel drops and counts, and the drops go out in a status frame after the next flush", async () => {
  const server = await setup();
  const c = client(server.path);
  // Synchronously: 10 fill the batch (its flush is now waiting on the socket), 20 fill the channel, 5 drop.
  const accepted = Array.from({ length: 35 }, (_, i) => c.log(rec(i)));
  expect(accepted.filter((a) => !a)).toHaveLength(5);
  expect(c.stats.droppedChannelFull).toBe(5);
  await until(() => server.logFrames.length === 3, { what: "three frames" });
  await until(() => server.statusFrames.length === 1, { what: "status" });
  expect(Number(server.statusFrames[0]!.status.droppedChannelFull)).toBe(5);
  expect(Number(server.statusFrames[0]!.status.droppedBatchFull)).toBe(0);
  // Dropped records keep their sequence numbers, so gaps are visible downstream.
  expect(server.records.map((l) => l.sequenceNumber)).toEqual(Array.from({ length: 30 }, (_, i) => i));
});

test("a write error keeps the batch, drops as batch_full while it is full, and retries at the timer", async () => {
  const server = await setup(false); // nobody listening yet
  const c = client(server.path, { flushInterval: 100 });
  for (let i = 0; i < 10; i++) c.log(rec(i)); // full batch: flush fails (no listener)
  await until(() => c.stats.writeErrors >= 1, { what: "write error" });
  for (let i = 10; i < 13; i++) c.log(rec(i));
  await until(() => c.stats.droppedBatchFull === 3, { what: "batch_full drops" });
  await server.listen();
  await until(() => server.logFrames.length === 1, { what: "retried batch", timeoutMs: 10_000 });
  expect(server.records.map((l) => l.sequenceNumber)).toEqual(Array.from({ length: 10 }, (_, i) => i));
  await until(() => server.statusFrames.length === 1, { what: "status" });
  expect(Number(server.statusFrames[0]!.status.droppedBatchFull)).toBe(3);
  expect(c.stats.sent).toBe(10);
});

test("close() delivers everything still pending, in order", async () => {
  const server = await setup();
  const c = client(server.path);
  for (let i = 0; i < 7; i++) c.log(rec(i));
  expect(server.logFrames).toHaveLength(0);
  expect(await c.close()).toBe(0);
  await until(() => server.records.length === 7, { what: "frame" });
  expect(server.records.map((l) => l.sequenceNumber)).toEqual([0, 1, 2, 3, 4, 5, 6]);
});

test("close() with nobody listening gives up by its timeout and reports what it could not send", async () => {
  const server = await setup(false);
  const c = client(server.path, { flushInterval: 20 });
  for (let i = 0; i < 4; i++) c.log(rec(i));
  expect(await c.close(200)).toBe(4);
});

test("a batch too big for one frame goes out in several; a record too big for any frame is dropped and counted", async () => {
  const server = await setup();
  const c = client(server.path, { batchSize: 100, channelSize: 1000 });
  const long = "https://github.com/" + "a".repeat(1000);
  for (let i = 0; i < 100; i++) c.log(i === 50 ? { allowed: false, method: "GET", url: "https://x/" + "b".repeat(40_000) } : { allowed: false, method: "GET", url: long });
  await until(() => server.records.length === 99, { what: "99 records" });
  expect(server.logFrames.length).toBeGreaterThan(3);
  for (const f of server.logFrames) expect(f.bytes).toBeLessThanOrEqual(4 + 32768);
  expect(c.stats.droppedTooLarge).toBe(1);
  expect(server.records.map((l) => l.sequenceNumber)).toEqual(Array.from({ length: 100 }, (_, i) => i).filter((i) => i !== 50));
});
