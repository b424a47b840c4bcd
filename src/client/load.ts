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
  /** The session UUID when `sessions` is 1 (default: a random one). */
  sessionId?: string;
  /** Called about every `progressIntervalMs` while records are being handed to the clients. */
  onProgress?: (progress: LoadProgress) => void;
  /** Default 1000. */
  progressIntervalMs?: number;
}

export interface LoadProgress {
  /** Records written to the socket so far. */
  sent: number;
  /** Records dropped so far (channel or batch full). */
  dropped: number;
  elapsedMs: number;
}

export interface LoadSummary {
  sent: number;
  droppedChannelFull: number;
  droppedBatchFull: number;
  /** Records too large for any frame. */
  droppedTooLarge: number;
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
  if (opts.sessionId && sessions > 1) throw new Error("a session id names one session; the load generator made more (sessions > 1)");
  const clients = Array.from({ length: sessions }, () => new BoundaryClient({ ...opts, sessionId: opts.sessionId }));
  const sum = (f: (c: BoundaryClient) => number) => clients.reduce((a, c) => a + f(c), 0);
  await Promise.all(clients.map((c) => c.open())); // no agent: SocketUnreachableError before any record
  const start = performance.now();
  const report = () =>
    opts.onProgress?.({ sent: sum((c) => c.stats.sent), dropped: sum((c) => c.stats.droppedChannelFull + c.stats.droppedBatchFull), elapsedMs: performance.now() - start });
  const ticker = opts.onProgress ? setInterval(report, opts.progressIntervalMs ?? 1000) : null;
  let unsent: number[];
  try {
    unsent = await Promise.all(
      clients.map((c, i) => {
        const share = Math.floor(opts.count / sessions) + (i < opts.count % sessions ? 1 : 0);
        return runSession(c, share, opts.rate / sessions);
      }),
    );
  } finally {
    if (ticker !== null) clearInterval(ticker);
  }
  return {
    sent: sum((c) => c.stats.sent),
    droppedChannelFull: sum((c) => c.stats.droppedChannelFull),
    droppedBatchFull: sum((c) => c.stats.droppedBatchFull),
    droppedTooLarge: sum((c) => c.stats.droppedTooLarge),
    unsent: unsent.reduce((a, b) => a + b, 0),
    elapsedMs: performance.now() - start,
    sessionIds: clients.map((c) => c.sessionId),
  };
}
