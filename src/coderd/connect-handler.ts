// Mounts the IngestService in Hono through @connectrpc/connect's router
// (Connect protocol, application/proto and application/json). Auth is a
// request gate: it runs on the headers, before any of the body is read, so
// an unauthenticated request costs nothing and writes nothing. The body
// limit is the router's readMaxBytes, checked against Content-Length first
// and then while streaming.
import { Code, ConnectError, createConnectRouter, type ServiceImpl } from "@connectrpc/connect";
import { createFetchHandler } from "@connectrpc/connect/protocol";
import type { Hono } from "hono";
import { IngestService } from "../gen/boundaryrelay/v1/ingest_pb.ts";
import { IDENTITY_KEY } from "./ingest.ts";
import type { IdentityRegistry } from "./identities/registry.ts";
import type { CoderdMetrics } from "./metrics.ts";

export interface IngestMountOptions {
  service: ServiceImpl<typeof IngestService>;
  identities: IdentityRegistry;
  maxBodyBytes: number;
  metrics: CoderdMetrics;
}

/** The agent token of a request: `Authorization: Bearer …` or `Coder-Session-Token`. */
export function agentTokenOf(headers: Headers): string {
  const auth = headers.get("authorization");
  if (auth) {
    const m = /^Bearer\s+(.+)$/i.exec(auth.trim());
    return m ? m[1]!.trim() : "";
  }
  return headers.get("coder-session-token")?.trim() ?? "";
}

async function connectCodeOf(res: Response): Promise<string> {
  if (res.status === 200) return "ok";
  try {
    const body = (await res.clone().json()) as { code?: unknown };
    return typeof body.code === "string" ? body.code : "internal";
  } catch {
    return "internal";
  }
}

export function mountIngest(app: Hono, opts: IngestMountOptions): void {
  const router = createConnectRouter({
    connect: true,
    grpc: false,
    grpcWeb: false,
    readMaxBytes: opts.maxBodyBytes,
    requireConnectProtocolHeader: false,
    requestGate(ctx) {
      const token = agentTokenOf(ctx.requestHeader);
      if (!token) {
        throw new ConnectError("missing agent token (Authorization: Bearer or Coder-Session-Token)", Code.Unauthenticated);
      }
      const identity = opts.identities.lookup(token);
      if (!identity) throw new ConnectError("unknown agent token", Code.Unauthenticated);
      ctx.values.set(IDENTITY_KEY, identity);
    },
  });
  router.service(IngestService, opts.service);
  for (const handler of router.handlers) {
    const fetchHandler = createFetchHandler(handler);
    app.on(handler.allowedMethods, handler.requestPath, async (c) => {
      const end = opts.metrics.ingestDuration.startTimer();
      const res = await fetchHandler(c.req.raw);
      end();
      opts.metrics.rpcs.inc({ code: await connectCodeOf(res) });
      return res;
    });
  }
}
