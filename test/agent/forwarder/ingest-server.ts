// A real Connect server for IngestService, on 127.0.0.1, for the forwarder
// tests. It records every (session_id, sequence_number) it accepts, can be
// told to fail in the ways coderd does, and can be stopped and restarted on
// the same port.
import { Code, ConnectError, createConnectRouter } from "@connectrpc/connect";
import { createFetchHandler } from "@connectrpc/connect/protocol";
import type { BoundaryLog } from "../../../src/gen/coder/agent/v2/boundary_pb.ts";
import { IngestService } from "../../../src/gen/boundaryrelay/v1/ingest_pb.ts";
import { serveHttp, type HttpServer } from "../../../src/runtime/adapter.ts";

const urlOf = (log: BoundaryLog) => (log.resource.case === "httpRequest" ? log.resource.value.url : "");

export const TEST_TOKEN = "test-agent-token";

export type FailureMode = "none" | "unavailable" | "unauthenticated" | "resource_exhausted" | "deadline_exceeded";

export class IngestServer {
  /** How often each "session:seq" was accepted. */
  readonly received = new Map<string, number>();
  /** Record count of each accepted request, in arrival order. */
  readonly requestSizes: number[] = [];
  failure: FailureMode = "none";
  /** The bearer token it accepts. */
  token = TEST_TOKEN;
  /** A request holding a record whose http_url contains this (when set) gets invalid_argument, as a stricter coderd would answer. */
  refuseUrlContaining: string | null = null;
  /** Requests with more records than this get invalid_argument. */
  maxRecords = 1000;
  /** Records refused with invalid_argument whatever the batch size ("session:seq"). */
  readonly refuse = new Set<string>();
  attempts = 0;
  /** Delay before answering, ms; with it, `maxConcurrent` shows the client's parallelism. */
  delayMs = 0;
  maxConcurrent = 0;
  private concurrent = 0;
  private server: HttpServer | null = null;
  port = 0;

  /** The Connect handler, for serving it some other way (e.g. over TLS). */
  readonly handle: (req: Request) => Promise<Response>;

  constructor() {
    const router = createConnectRouter();
    router.service(IngestService, {
      reportBoundaryLogs: async (req, ctx) => {
        this.attempts++;
        this.concurrent++;
        this.maxConcurrent = Math.max(this.maxConcurrent, this.concurrent);
        try {
          if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs));
        } finally {
          this.concurrent--;
        }
        if (this.failure === "unavailable") throw new ConnectError("down for maintenance", Code.Unavailable);
        if (this.failure === "resource_exhausted") throw new ConnectError("overloaded", Code.ResourceExhausted);
        if (this.failure === "deadline_exceeded") throw new ConnectError("store too slow", Code.DeadlineExceeded);
        if (ctx.requestHeader.get("authorization") !== `Bearer ${this.token}` || this.failure === "unauthenticated") {
          throw new ConnectError("unknown agent token", Code.Unauthenticated);
        }
        if (req.logs.length > this.maxRecords) throw new ConnectError(`batch of ${req.logs.length} records exceeds ${this.maxRecords}`, Code.InvalidArgument);
        for (const log of req.logs) {
          if (this.refuse.has(`${req.sessionId}:${log.sequenceNumber}`)) throw new ConnectError("bad record", Code.InvalidArgument);
          if (this.refuseUrlContaining !== null && urlOf(log).includes(this.refuseUrlContaining)) {
            throw new ConnectError(`logs[${req.logs.indexOf(log)}].http_url: refused by this coderd`, Code.InvalidArgument);
          }
        }
        for (const log of req.logs) {
          const key = `${req.sessionId}:${log.sequenceNumber}`;
          this.received.set(key, (this.received.get(key) ?? 0) + 1);
        }
        this.requestSizes.push(req.logs.length);
        return {};
      },
    });
    const handlers = new Map(router.handlers.map((h) => [h.requestPath, createFetchHandler(h)]));
    this.handle = async (req) => {
      const handler = handlers.get(new URL(req.url).pathname);
      return handler ? handler(req) : new Response("not found", { status: 404 });
    };
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    this.server = await serveHttp({ hostname: "127.0.0.1", port: this.port, fetch: this.handle });
    this.port = this.server.port;
  }

  async stop(): Promise<void> {
    await this.server?.stop(true);
    this.server = null;
  }

  /** Distinct records accepted for `session`, as sorted sequence numbers. */
  sequences(session: string): number[] {
    return [...this.received.keys()]
      .filter((k) => k.startsWith(`${session}:`))
      .map((k) => Number(k.slice(session.length + 1)))
      .sort((a, b) => a - b);
  }
}
