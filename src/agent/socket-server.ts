// boundary's end of the agent: listens on the Unix socket, decodes each
// connection's frames with its own FrameDecoder, counts what it refuses,
// and pushes record batches to the queue. A bad peer costs only its own
// connection (unsupported tag, oversize length) or its own frame (malformed
// protobuf); every other connection carries on.
import { lstatSync, mkdirSync, unlinkSync } from "node:fs";
import { createConnection } from "node:net";
import { dirname } from "node:path";
import { listenUnix, type StreamConnection, type UnixListener } from "../runtime/adapter.ts";
import type { DecodedFrame } from "../wire/decoder.ts";
import { FrameDecoder } from "../wire/decoder.ts";
import type { FrameError } from "../wire/frame.ts";
import type { AgentMetrics } from "./metrics.ts";
import type { QueuedBatch } from "./output.ts";

export interface SocketServerOptions {
  path: string;
  mode: number;
  metrics: AgentMetrics;
  /** Takes each decoded batch (the queue's push). */
  accept: (batch: QueuedBatch) => void;
  /** false: pass on only the bytes of a batch when they could be cut out (the output takes bytes). Default true. */
  keepDecoded?: boolean;
  /** Warnings (stderr in the CLI). */
  log: (line: string) => void;
}

interface ConnectionState {
  conn: StreamConnection;
  decoder: FrameDecoder;
  /** Reasons already logged for this connection: one line per reason. */
  warned: Set<string> | null;
  /** When the last bytes arrived (ms): shutdown waits for quiet connections. */
  lastDataAt: number;
}

export class SocketPathError extends Error {
  override name = "SocketPathError";
}

/** Removes a stale socket at `path`; refuses anything that is not a socket or still has a listener. */
export async function clearStaleSocket(path: string): Promise<void> {
  let stat;
  try {
    stat = lstatSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return;
    throw err;
  }
  if (!stat.isSocket()) {
    throw new SocketPathError(`${path} exists and is not a socket; refusing to remove it (choose another --socket or remove it yourself)`);
  }
  if (await socketAnswers(path)) {
    throw new SocketPathError(`${path} is in use: another process is listening on it`);
  }
  unlinkSync(path);
}

function socketAnswers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createConnection({ path });
    probe.once("connect", () => {
      probe.destroy();
      resolve(true);
    });
    probe.once("error", () => resolve(false));
  });
}

export class SocketServer {
  private listener: UnixListener | null = null;
  private readonly connections = new Map<number, ConnectionState>();
  private readonly m;

  constructor(private readonly opts: SocketServerOptions) {
    const m = opts.metrics;
    this.m = {
      logsFrames: m.framesReceived.labels("logs"),
      statusFrames: m.framesReceived.labels("status"),
      unknownFrames: m.framesReceived.labels("unknown"),
      channelFull: m.logsDropped.labels("boundary_channel_full"),
      batchFull: m.logsDropped.labels("boundary_batch_full"),
      records: m.recordsReceived,
      open: m.connectionsOpen,
      total: m.connectionsTotal,
      rejected: m.framesRejected,
    };
  }

  get path(): string {
    return this.opts.path;
  }

  get listening(): boolean {
    return this.listener !== null;
  }

  /** Connections open now (and so decoders held). */
  get openConnections(): number {
    return this.connections.size;
  }

  async start(): Promise<void> {
    const { path, mode } = this.opts;
    mkdirSync(dirname(path), { recursive: true });
    await clearStaleSocket(path);
    this.listener = await listenUnix(path, mode, {
      open: (conn) => this.onOpen(conn),
      data: (conn, chunk) => this.onData(conn, chunk),
      close: (conn) => this.onClose(conn),
    });
  }

  /**
   * Stops accepting, keeps reading open connections until they have been
   * quiet for `quietMs` (so what boundary already wrote is not lost) or
   * `deadline` passes, closes them, and removes the socket file.
   */
  async stop(deadline = Date.now(), quietMs = 100): Promise<void> {
    const listener = this.listener;
    if (listener === null) return;
    this.listener = null;
    await listener.stop();
    await this.waitForQuiet(deadline, quietMs);
    for (const state of [...this.connections.values()]) state.conn.close();
    try {
      if (lstatSync(this.opts.path).isSocket()) unlinkSync(this.opts.path);
    } catch {
      // already gone
    }
  }

  private async waitForQuiet(deadline: number, quietMs: number): Promise<void> {
    const busy = () => [...this.connections.values()].some((c) => Date.now() - c.lastDataAt < quietMs);
    while (this.connections.size > 0 && Date.now() < deadline && busy()) {
      await new Promise((resolve) => setTimeout(resolve, Math.min(20, quietMs)));
    }
  }

  private onOpen(conn: StreamConnection): void {
    this.connections.set(conn.id, { conn, decoder: new FrameDecoder(), warned: null, lastDataAt: Date.now() });
    this.m.open.inc();
    this.m.total.inc();
  }

  private onData(conn: StreamConnection, chunk: Uint8Array): void {
    const state = this.connections.get(conn.id);
    if (state === undefined || state.decoder.error !== null) return;
    const frames = state.decoder.push(chunk);
    const receivedAt = Date.now();
    state.lastDataAt = receivedAt;
    for (let i = 0; i < frames.length; i++) this.handleFrame(state, frames[i]!, receivedAt);
  }

  private handleFrame(state: ConnectionState, frame: DecodedFrame, receivedAt: number): void {
    switch (frame.kind) {
      case "logs":
        this.m.logsFrames.inc();
        this.m.records.inc(frame.request.logs.length);
        this.opts.accept({
          records: frame.request.logs.length,
          request: this.opts.keepDecoded === false && frame.encoded !== null ? null : frame.request,
          encoded: frame.encoded,
          bytes: frame.bytes,
          receivedAt,
        });
        return;
      case "status":
        this.m.statusFrames.inc();
        if (frame.status.droppedChannelFull > 0n) this.m.channelFull.inc(Number(frame.status.droppedChannelFull));
        if (frame.status.droppedBatchFull > 0n) this.m.batchFull.inc(Number(frame.status.droppedBatchFull));
        return;
      case "unknown":
        this.m.unknownFrames.inc();
        return;
      case "error":
        this.reject(state, frame.error);
        if (frame.error.fatal) state.conn.close();
        return;
    }
  }

  private onClose(conn: StreamConnection): void {
    const state = this.connections.get(conn.id);
    if (state === undefined) return;
    this.connections.delete(conn.id);
    this.m.open.dec();
    const truncated = state.decoder.end();
    if (truncated !== null) this.reject(state, truncated);
  }

  private reject(state: ConnectionState, error: FrameError): void {
    this.m.rejected.inc({ reason: error.reason });
    state.warned ??= new Set();
    if (state.warned.has(error.reason)) return;
    state.warned.add(error.reason);
    const action = error.fatal ? "connection closed" : "frame skipped";
    this.opts.log(`warn: boundary connection ${state.conn.id}: ${error.message} (${action})`);
  }
}
