// Load generator: N sessions, each its own connection, session UUID and
// sequence numbers from 0, sending `count` records in total at `rate`
// records/s overall (0 = as fast as the socket takes them).
import { BoundaryClient, type BoundaryClientOptions } from "./client.ts";
import { demoRecords } from "./records.ts";

export interface LoadOptions extends Omit<BoundaryClientOptions, "sessionId"> {
  count: number;
  sessions: number;
  /** Records per second over all sessions; 0 = unpaced. */
  rate: number;
}

export interface LoadSummary {
  sent: number;
  droppedChannelFull: number;
  droppedBatchFull: number;
  /** Records still undelivered when the clients closed. */
  unsent: number;
  elapsedMs: number;
  sessionIds: string[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function runSession(client: BoundaryClient, count: number, rate: number): Promise<number> {
  const samples = demoRecords();
  const start = performance.now();
  for (let i = 0; i < count; i++) {
    if (rate > 0) {
      const ahead = start + (i * 1000) / rate - performance.now();
      if (ahead > 4) await sleep(ahead);
    }
    await client.send(samples[i % samples.length]!);
  }
  return client.close();
}

export async function runLoad(opts: LoadOptions): Promise<LoadSummary> {
  const sessions = Math.max(1, opts.sessions);
  const clients = Array.from({ length: sessions }, () => new BoundaryClient(opts));
  const start = performance.now();
  const unsent = await Promise.all(
    clients.map((c, i) => {
      const share = Math.floor(opts.count / sessions) + (i < opts.count % sessions ? 1 : 0);
      return runSession(c, share, opts.rate / sessions);
    }),
  );
  const elapsedMs = performance.now() - start;
  const sum = (f: (c: BoundaryClient) => number) => clients.reduce((a, c) => a + f(c), 0);
  return {
    sent: sum((c) => c.stats.sent),
    droppedChannelFull: sum((c) => c.stats.droppedChannelFull),
    droppedBatchFull: sum((c) => c.stats.droppedBatchFull),
    unsent: unsent.reduce((a, b) => a + b, 0),
    elapsedMs,
    sessionIds: clients.map((c) => c.sessionId),
  };
}
