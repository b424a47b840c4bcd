// A boundary-compatible writer for the agent's Unix socket (shared/WIRE.md
// §3), usable from any TypeScript program: records go through a bounded
// channel (full → dropped_channel_full) into a batch flushed at batchSize
// records or flushInterval after the batch's first record. A failed write
// closes the connection, keeps the batch and retries at the next timer;
// while that batch is full, records are dropped (dropped_batch_full). After
// a successful flush, non-zero drop counts go out as a BoundaryStatus frame.
// Unlike the real client, close() flushes everything still pending.
import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { randomUUID } from "node:crypto";
import { createConnection, type Socket } from "node:net";
import {
  type BoundaryLog,
  BoundaryLogSchema,
  ReportBoundaryLogsRequestSchema,
} from "../gen/coder/agent/v2/boundary_pb.ts";
import { BoundaryStatusSchema } from "../gen/coder/boundarylogproxy/codec/v1/codec_pb.ts";
import { encodeLogsFrame, encodeStatusFrame, FrameTooLargeError } from "../wire/encoder.ts";
import { MAX_PAYLOAD_BYTES } from "../wire/frame.ts";

export interface ClientRecord {
  allowed: boolean;
  method: string;
  url: string;
  /** Only kept for allowed records, like boundary. */
  matchedRule?: string;
  /** ms since the epoch; default now. */
  time?: number;
  /** Default: the client's next sequence number. */
  sequenceNumber?: number;
}

export interface BoundaryClientOptions {
  socketPath: string;
  sessionId?: string;
  confinedProcessName?: string;
  /** Records per frame (boundary: 10). */
  batchSize?: number;
  /** ms after a batch's first record before it is flushed, and between retries (boundary: 5000). */
  flushInterval?: number;
  /** Records the channel holds before dropping (boundary: 20). */
  channelSize?: number;
  /**
   * Called after each logs frame was written to the socket, with its records
   * and when that write started (performance.now()). For harnesses that must
   * know exactly which records left the client.
   */
  onWritten?: (logs: readonly BoundaryLog[], writeStartedAt: number) => void;
}

export interface ClientStats {
  /** Records written to the socket. */
  sent: number;
  /** Records dropped because the channel was full. */
  droppedChannelFull: number;
  /** Records dropped because the batch was full after a failed flush. */
  droppedBatchFull: number;
  /** Frames written (logs and status). */
  /** Records too large for any frame (over 32 KiB on their own): never sendable, dropped. */
  droppedTooLarge: number;
  frames: number;
  statusFrames: number;
  writeErrors: number;
}

export class BoundaryClient {
  readonly sessionId: string;
  readonly confinedProcessName: string;
  private readonly socketPath: string;
  private readonly batchSize: number;
  private readonly flushInterval: number;
  private readonly channelSize: number;
  private readonly onWritten: BoundaryClientOptions["onWritten"];
  private channel: BoundaryLog[] = [];
  private batch: BoundaryLog[] = [];
  private nextSequence = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private timerDue = false;
  private running: Promise<void> = Promise.resolve();
  private active = false;
  private spaceWaiters: Array<() => void> = [];
  private socket: Socket | null = null;
  private closed = false;
  /** Drops not yet reported in a status frame. */
  private unreportedChannelFull = 0;
  private unreportedBatchFull = 0;
  readonly stats: ClientStats = { sent: 0, droppedChannelFull: 0, droppedBatchFull: 0, droppedTooLarge: 0, frames: 0, statusFrames: 0, writeErrors: 0 };

  constructor(opts: BoundaryClientOptions) {
    this.socketPath = opts.socketPath;
    this.sessionId = opts.sessionId ?? randomUUID();
    this.confinedProcessName = opts.confinedProcessName ?? "claude";
    this.batchSize = opts.batchSize ?? 10;
    this.flushInterval = opts.flushInterval ?? 5000;
    this.channelSize = opts.channelSize ?? 20;
    this.onWritten = opts.onWritten;
  }

  /**
   * Connects now instead of at the first flush, so a caller learns at once
   * that no agent listens; throws SocketUnreachableError then. The
   * connection is kept for the records that follow.
   */
  async open(): Promise<void> {
    try {
      await this.connect();
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? "unknown";
      throw new SocketUnreachableError(this.socketPath, code, { cause: err });
    }
  }

  /** Records waiting in the channel or the batch. */
  get pending(): number {
    return this.channel.length + this.batch.length;
  }

  /** Like boundary: never blocks; false when the record was dropped (channel full or client closed). */
  log(record: ClientRecord): boolean {
    const log = this.toLog(record);
    if (this.closed || this.channel.length >= this.channelSize) {
      this.stats.droppedChannelFull++;
      this.unreportedChannelFull++;
      return false;
    }
    this.channel.push(log);
    this.kick();
    return true;
  }

  /** Waits for room in the channel instead of dropping (for load generators). */
  async send(record: ClientRecord): Promise<void> {
    while (!this.closed && this.channel.length >= this.channelSize) {
      await new Promise<void>((resolve) => this.spaceWaiters.push(resolve));
    }
    this.log(record);
  }

  /**
   * Flushes everything pending (more than one frame if needed) and closes.
   * Retries failed writes every flushInterval until `timeoutMs`; resolves
   * with the number of records it could not deliver.
   */
  async close(timeoutMs = 10_000): Promise<number> {
    if (this.closed) return this.pending;
    this.closed = true;
    this.clearTimer();
    for (const wake of this.spaceWaiters.splice(0)) wake();
    await this.settled();
    this.batch.push(...this.channel.splice(0));
    const deadline = Date.now() + timeoutMs;
    while (this.batch.length > 0 || this.unreportedChannelFull + this.unreportedBatchFull > 0) {
      if (await this.flush()) continue;
      if (Date.now() + Math.min(this.flushInterval, 250) > deadline) break;
      await new Promise((r) => setTimeout(r, Math.min(this.flushInterval, 250)));
    }
    await this.disconnect();
    return this.batch.length;
  }

  private toLog(record: ClientRecord): BoundaryLog {
    const sequenceNumber = record.sequenceNumber ?? this.nextSequence;
    this.nextSequence = sequenceNumber + 1;
    return create(BoundaryLogSchema, {
      allowed: record.allowed,
      time: timestampFromMs(record.time ?? Date.now()),
      sequenceNumber,
      resource: {
        case: "httpRequest",
        value: { method: record.method, url: record.url, matchedRule: record.allowed ? (record.matchedRule ?? "") : "" },
      },
    });
  }

  private kick(): void {
    if (this.active) return;
    this.active = true;
    this.run();
  }

  /**
   * Moves records from the channel into the batch, synchronously until a
   * flush has to wait on the socket; then continues once it has finished.
   * `active` stays true across that wait, so log() never starts a second loop.
   */
  private run(): void {
    for (;;) {
      if (this.timerDue) {
        this.timerDue = false;
        if (this.batch.length > 0) return this.continueAfter(this.flush());
        continue;
      }
      const log = this.channel.shift();
      if (log === undefined) {
        this.active = false;
        return;
      }
      this.spaceWaiters.shift()?.();
      if (this.batch.length >= this.batchSize) {
        // The batch is full because its flush failed; the retry waits for the timer.
        this.stats.droppedBatchFull++;
        this.unreportedBatchFull++;
        continue;
      }
      this.batch.push(log);
      if (this.batch.length === 1) this.armTimer();
      if (this.batch.length >= this.batchSize) return this.continueAfter(this.flush());
    }
  }

  private continueAfter(flushing: Promise<boolean>): void {
    this.running = flushing.then(() => this.run());
  }

  /** Resolves once the move-and-flush loop has stopped. */
  private async settled(): Promise<void> {
    while (this.active) await this.running;
  }

  private armTimer(): void {
    if (this.closed) return;
    this.clearTimer();
    this.timer = setTimeout(() => {
      this.timer = null;
      this.timerDue = true;
      this.kick();
    }, this.flushInterval);
  }

  private clearTimer(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  /** Writes up to batchSize records, then the status if drops are unreported. True on success. */
  private async flush(): Promise<boolean> {
    try {
      const socket = await this.connect();
      // Everything up to batchSize goes out, in as many frames as the 32 KiB limit needs.
      let left = Math.min(this.batch.length, this.batchSize);
      while (left > 0) {
        const { frame, records } = this.encodeFront(left);
        const writeStartedAt = performance.now();
        if (frame !== null) await writeAll(socket, frame);
        const written = this.batch.splice(0, records);
        left -= records;
        if (frame === null) continue;
        this.stats.sent += records;
        this.stats.frames++;
        this.onWritten?.(written, writeStartedAt);
      }
      if (this.batch.length === 0) this.clearTimer();
      else if (!this.closed) this.armTimer();
      await this.sendStatus(socket);
      return true;
    } catch {
      this.stats.writeErrors++;
      await this.disconnect();
      this.armTimer();
      return false;
    }
  }

  /**
   * Encodes the longest front of the batch (at most `max` records) that fits
   * one frame. A single record too large for any frame can never be sent:
   * it is dropped (frame null) and counted in droppedTooLarge.
   */
  private encodeFront(max: number): { frame: Uint8Array | null; records: number } {
    let n = max;
    for (;;) {
      const request = create(ReportBoundaryLogsRequestSchema, {
        logs: this.batch.slice(0, n),
        sessionId: this.sessionId,
        confinedProcessName: this.confinedProcessName,
      });
      try {
        return { frame: encodeLogsFrame(request), records: n };
      } catch (err) {
        if (!(err instanceof FrameTooLargeError)) throw err;
        if (n === 1) {
          this.stats.droppedTooLarge++;
          return { frame: null, records: 1 };
        }
        // Scale down by how far over the limit it was (records are usually similar in size).
        n = Math.max(1, Math.min(n - 1, Math.floor((n * MAX_PAYLOAD_BYTES * 0.95) / err.payloadBytes)));
      }
    }
  }

  private async sendStatus(socket: Socket): Promise<void> {
    const channelFull = this.unreportedChannelFull;
    const batchFull = this.unreportedBatchFull;
    if (channelFull === 0 && batchFull === 0) return;
    const status = create(BoundaryStatusSchema, { droppedChannelFull: BigInt(channelFull), droppedBatchFull: BigInt(batchFull) });
    await writeAll(socket, encodeStatusFrame(status));
    this.unreportedChannelFull -= channelFull;
    this.unreportedBatchFull -= batchFull;
    this.stats.frames++;
    this.stats.statusFrames++;
  }

  private connect(): Promise<Socket> {
    if (this.socket !== null && !this.socket.destroyed) return Promise.resolve(this.socket);
    return new Promise((resolve, reject) => {
      const socket = createConnection({ path: this.socketPath });
      socket.once("connect", () => {
        socket.off("error", reject);
        socket.on("error", () => {}); // write callbacks report errors
        this.socket = socket;
        resolve(socket);
      });
      socket.once("error", reject);
    });
  }

  private async disconnect(): Promise<void> {
    const socket = this.socket;
    this.socket = null;
    if (socket === null || socket.destroyed) return;
    await new Promise<void>((resolve) => {
      socket.once("close", () => resolve());
      socket.end();
      setTimeout(() => {
        socket.destroy();
        resolve();
      }, 1000).unref?.();
    });
  }
}

/** Nothing accepts connections on the socket: `code` is ENOENT (no socket file) or ECONNREFUSED (a stale file). */
export class SocketUnreachableError extends Error {
  override readonly name = "SocketUnreachableError";
  constructor(readonly socketPath: string, readonly code: string, options?: { cause?: unknown }) {
    super(`cannot connect to ${socketPath}: ${code}`, options);
  }
}

function writeAll(socket: Socket, bytes: Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => {
    if (socket.destroyed || !socket.writable) {
      reject(new Error("socket closed"));
      return;
    }
    socket.write(bytes, (err) => (err ? reject(err) : resolve()));
  });
}
