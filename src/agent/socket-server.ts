// boundary's end of the agent: listens on the Unix socket, decodes each
// connection's frames with its own FrameDecoder, counts what it refuses,
// and pushes record batches to the queue.
// Guarantees:
// - a bad peer costs only its own connection (unsupported tag, oversize
//   length) or its own frame (malformed protobuf, or a record coderd would
//   refuse: invalid_record); each is counted in frames_rejected_total{reason}
//   and logged once per connection and reason; every other connection
//   carries on;
// - backpressure, not drops: when the queue says it is full, every
//   connection stops being read (boundary's writes then block in the kernel,
//   and boundary counts and reports its own drops) until the queue has room;
//   counted in socket_reads_paused_total;
// - at most --max-connections connections at once: one more is closed at
//   once (connections_rejected_total{reason="too_many"});
// - a connection holding part of a frame and silent for --socket-idle-timeout
//   is closed and its buffer freed (connections_rejected_total{reason=
//   "idle_timeout"}); a connection between frames may stay idle for ever
//   (boundary keeps its connection open between flushes);
// - on stop, the socket file is removed only if it is still the one this
//   process created (src/agent/socket-file.ts).
// Memory: one partial frame (≤ 32 KiB + header) per connection, plus, while
// reading is paused, what was already read (one read per connection).
import { listenUnix, type StreamConnection, type UnixListener } from "../runtime/adapter.ts";
import type { DecodedFrame } from "../wire/decoder.ts";
import { FrameDecoder } from "../wire/decoder.ts";
import type { FrameError } from "../wire/frame.ts";
import type { AgentMetrics } from "./metrics.ts";
import type { QueuedBatch } from "./output.ts";
import {
  clearStaleSocket,
  isOurSocketFile,
  makeSocketDirectory,
  removeOurSocketFile,
  type SocketFileIdentity,
  socketFileIdentity,
  stopKeepingForeignFile,
} from "./socket-file.ts";

export { clearStaleSocket, SocketPathError } from "./socket-file.ts";

export interface SocketServerOptions {
  path: string;
  mode: number;
  metrics: AgentMetrics;
  /** Takes each decoded batch (the queue's push); false when the queue is now full and reading must pause until resumeReading(). */
  accept: (batch: QueuedBatch) => boolean;
  /** false: pass on only the bytes of a batch when they could be cut out (the output takes bytes). Default true. */
  keepDecoded?: boolean;
  /** Connections open at once, at most (default 1024). */
  maxConnections?: number;
  /** ms a connection holding part of a frame may stay silent before it is closed; 0 = never (default 60 s). */
  idleTimeoutMs?: number;
  /** Warnings (stderr in the CLI). */
  log: (line: string) => void;
}

export const DEFAULT_MAX_CONNECTIONS = 1024;
export const DEFAULT_IDLE_TIMEOUT_MS = 60_000;

interface ConnectionState {
  conn: StreamConnection;
  decoder: FrameDecoder;
  /** Reasons already logged for this connection: one line per reason. */
  warned: Set<string> | null;
  /** When the last bytes arrived, or reading last resumed (ms). */
  lastDataAt: number;
}

export class SocketServer {
  private listener: UnixListener | null = null;
  private ownFile: SocketFileIdentity | null = null;
  private readonly connections = new Map<number, ConnectionState>();
  /** Reading stopped because the queue is full. */
  private paused = false;
  private idleSweep: ReturnType<typeof setInterval> | null = null;
  /** When a too_many refusal was last logged (ms). */
  private tooManyLoggedAt = 0;
  private readonly maxConnections: number;
  private readonly idleTimeoutMs: number;
  private readonly m;

  constructor(private readonly opts: SocketServerOptions) {
    const m = opts.metrics;
    this.maxConnections = opts.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
    this.idleTimeoutMs = opts.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
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
      tooMany: m.connectionsRejected.labels("too_many"),
      idle: m.connectionsRejected.labels("idle_timeout"),
      pauses: m.socketReadsPaused,
    };
    m.sources.partialFrameBytes = () => this.partialFrameBytes();
  }

  get path(): string {
    return this.opts.path;
  }

  /** Listening, and the socket file is still the one we created. */
  get listening(): boolean {
    return this.problem() === null;
  }

  /** null while listening on our own socket file, else what is wrong (for /readyz). */
  problem(): string | null {
    if (this.listener === null || this.ownFile === null) return `socket ${this.opts.path} is not listening`;
    if (!isOurSocketFile(this.opts.path, this.ownFile)) {
      return `socket ${this.opts.path} was removed or replaced by another process: boundary cannot reach this agent (restart it)`;
    }
    return null;
  }

  /** Connections open now (and so decoders held). */
  get openConnections(): number {
    return this.connections.size;
  }

  /** Whether reading is paused because the queue is full. */
  get readingPaused(): boolean {
    return this.paused;
  }

  async start(): Promise<void> {
    const { path, mode } = this.opts;
    makeSocketDirectory(path);
    await clearStaleSocket(path);
    this.listener = await listenUnix(path, mode, {
      open: (conn) => this.onOpen(conn),
      data: (conn, chunk) => this.onData(conn, chunk),
      close: (conn) => this.onClose(conn),
    });
    this.ownFile = socketFileIdentity(path);
    if (this.idleTimeoutMs > 0) {
      this.idleSweep = setInterval(() => this.closeIdle(), Math.max(10, Math.min(1000, this.idleTimeoutMs / 4)));
      this.idleSweep.unref?.();
    }
  }

  /**
   * Stops accepting, keeps reading open connections until they have been
   * quiet for `quietMs` (so what boundary already wrote is not lost) or
   * `deadline` passes, closes them, and removes the socket file if it is
   * still ours. A connection paused for backpressure is not quiet: it is
   * read again as soon as the queue has room.
   */
  async stop(deadline = Date.now(), quietMs = 100): Promise<void> {
    const listener = this.listener;
    if (listener === null) return;
    this.listener = null;
    // The runtime unlinks the path when the listener stops: keep a file another agent put there meanwhile.
    await stopKeepingForeignFile(this.opts.path, this.ownFile, () => listener.stop());
    await this.waitForQuiet(deadline, quietMs);
    if (this.idleSweep !== null) clearInterval(this.idleSweep);
    for (const state of [...this.connections.values()]) state.conn.close();
    if (this.ownFile !== null) removeOurSocketFile(this.opts.path, this.ownFile);
  }

  /** Reads every connection again (the queue has room). */
  resumeReading(): void {
    if (!this.paused) return;
    this.paused = false;
    const now = Date.now();
    for (const state of this.connections.values()) {
      state.lastDataAt = now;
      state.conn.resume();
    }
  }

  private pauseReading(): void {
    if (this.paused) return;
    this.paused = true;
    this.m.pauses.inc();
    for (const state of this.connections.values()) state.conn.pause();
  }

  private async waitForQuiet(deadline: number, quietMs: number): Promise<void> {
    const busy = () => this.paused || [...this.connections.values()].some((c) => Date.now() - c.lastDataAt < quietMs);
    while (this.connections.size > 0 && Date.now() < deadline && busy()) {
      await new Promise((resolve) => setTimeout(resolve, Math.min(20, quietMs)));
    }
  }

  private onOpen(conn: StreamConnection): void {
    if (this.connections.size >= this.maxConnections) {
      this.refuseConnection(conn);
      return;
    }
    const decoder = new FrameDecoder({ decodeLogs: this.opts.keepDecoded !== false });
    this.connections.set(conn.id, { conn, decoder, warned: null, lastDataAt: Date.now() });
    this.m.open.inc();
    this.m.total.inc();
    if (this.paused) conn.pause();
  }

  private refuseConnection(conn: StreamConnection): void {
    this.m.tooMany.inc();
    conn.close();
    const now = Date.now();
    if (now - this.tooManyLoggedAt < 10_000) return; // one line per 10 s, however many knock
    this.tooManyLoggedAt = now;
    this.opts.log(`warn: boundary connection refused: ${this.maxConnections} connections already open (--max-connections); counted in connections_rejected_total{reason="too_many"}`);
  }

  /** Closes connections that hold part of a frame and sent nothing for idleTimeoutMs. */
  private closeIdle(): void {
    if (this.paused) return; // their silence is ours
    const cutoff = Date.now() - this.idleTimeoutMs;
    let closed = 0;
    for (const state of this.connections.values()) {
      if (state.lastDataAt > cutoff || !state.decoder.midFrame) continue;
      state.decoder.discard();
      state.conn.close();
      this.m.idle.inc();
      closed++;
    }
    if (closed > 0) {
      this.opts.log(`warn: closed ${closed} boundary connection(s) holding part of a frame and silent for ${this.idleTimeoutMs} ms (--socket-idle-timeout)`);
    }
  }

  private partialFrameBytes(): number {
    let bytes = 0;
    for (const state of this.connections.values()) bytes += state.decoder.heldBytes;
    return bytes;
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
      case "logs": {
        this.m.logsFrames.inc();
        this.m.records.inc(frame.request.logs.length);
        const room = this.opts.accept({
          records: frame.request.logs.length,
          request: this.opts.keepDecoded === false && frame.encoded !== null ? null : frame.request,
          encoded: frame.encoded,
          bytes: frame.bytes,
          receivedAt,
        });
        if (!room) this.pauseReading();
        return;
      }
      case "encoded_logs": {
        this.m.logsFrames.inc();
        this.m.records.inc(frame.records);
        const room = this.opts.accept({ records: frame.records, request: null, encoded: frame.encoded, bytes: frame.bytes, receivedAt });
        if (!room) this.pauseReading();
        return;
      }
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
