// Mounts the IngestService in Hono through @connectrpc/connect's router
// (Connect protocol, application/proto and application/json); binary calls
// with a Content-Length, which is every call the agent makes, are answered
// directly with the router's answer (direct-unary.ts). Auth is a
// request gate: it runs on the headers, before any of the body is read, so
// an unauthenticated request costs nothing and writes nothing. The body
// limit is the router's readMaxBytes, checked against Content-Length first
// and then while streaming.
//
// Every malformed body is `invalid_argument`, never `internal`: a binary
// body is scanned as it streams in, before the protobuf decoder sees it, by
// the shared validity rules (record/validity.ts) for ReportBoundaryLogs and
// by the schema-driven strict scan (rpc/strict-wire.ts) for ReportProcessLogs (so no truncated length,
// group nesting or bad UTF-8 reaches the decoder); a JSON body is decoded
// with a strict UTF-8 decoder, and its values are checked by the ingest
// service (checkRequest). Compressed bodies are not accepted.
import { Code, ConnectError, createConnectRouter, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import { createFetchHandler } from "@connectrpc/connect/protocol";
import type { Hono } from "hono";
import { IngestService } from "../gen/boundaryrelay/v1/ingest_pb.ts";
import { ReportProcessLogsRequestSchema } from "../gen/boundaryrelay/v1/process_pb.ts";
import { checkEncodedRequest, describeInvalid } from "../record/validity.ts";
import { checkEncodedMessage } from "../rpc/strict-wire.ts";
import { answerDirectly, answersDirectly, type BodyCheck, type UnaryImpl } from "./direct-unary.ts";
import { IDENTITY_KEY, isBinaryRequest } from "./ingest.ts";
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

/** The byte check of each ingest method's binary request body. */
const BODY_CHECKS: Record<string, BodyCheck> = {
  ReportBoundaryLogs: checkEncodedRequest,
  ReportProcessLogs: (body) => checkEncodedMessage(ReportProcessLogsRequestSchema, body),
};

/**
 * The request with its binary body checked as the router reads it: once
 * all of it has arrived, a body that is not a well-formed request of its
 * method ends the stream with an invalid_argument error naming the field,
 * which the router answers as it is. Bodies over the limit never get that far.
 */
function withCheckedBody(req: Request, check: BodyCheck): Request {
  if (!req.body || !isBinaryRequest(req.headers)) return req;
  const chunks: Uint8Array[] = [];
  let size = 0;
  const checking = new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      chunks.push(chunk);
      size += chunk.byteLength;
      controller.enqueue(chunk);
    },
    flush(controller) {
      const body = new Uint8Array(size);
      let at = 0;
      for (const c of chunks) body.set(c, (at += c.byteLength) - c.byteLength);
      const invalid = check(body);
      if (invalid) controller.error(new ConnectError(describeInvalid(invalid), Code.InvalidArgument));
    },
  });
  return new Request(req, { body: req.body.pipeThrough(checking), duplex: "half" } as RequestInit);
}

/** The request gate: the agent token names an identity, else unauthenticated. */
function identify(identities: IdentityRegistry): (ctx: HandlerContext) => void {
  return (ctx) => {
    const token = agentTokenOf(ctx.requestHeader);
    if (!token) {
      throw new ConnectError("missing agent token (Authorization: Bearer or Coder-Session-Token)", Code.Unauthenticated);
    }
    const identity = identities.lookup(token);
    if (!identity) throw new ConnectError("unknown agent token", Code.Unauthenticated);
    ctx.values.set(IDENTITY_KEY, identity);
  };
}

export function mountIngest(app: Hono, opts: IngestMountOptions): void {
  const gate = identify(opts.identities);
  const router = createConnectRouter({
    connect: true,
    grpc: false,
    grpcWeb: false,
    readMaxBytes: opts.maxBodyBytes,
    // Invalid UTF-8 in a JSON body is invalid_argument, not a silent U+FFFD.
    jsonOptions: { textDecoder: new TextDecoder("utf-8", { fatal: true }) } as object,
    requireConnectProtocolHeader: false,
    requestGate: gate,
  });
  router.service(IngestService, opts.service);
  for (const handler of router.handlers) {
    const fetchHandler = createFetchHandler(handler);
    const check = BODY_CHECKS[handler.method.name];
    const direct = check && handler.method.methodKind === "unary"
      ? { method: handler.method, impl: implOf(opts.service, handler.method.localName), gate, check }
      : null;
    app.on(handler.allowedMethods, handler.requestPath, async (c) => {
      const end = opts.metrics.ingestDuration.startTimer();
      const res = direct && answersDirectly(c.req.raw, opts.maxBodyBytes)
        ? await answerDirectly(c.req.raw, direct)
        : await fetchHandler(check ? withCheckedBody(c.req.raw, check) : c.req.raw);
      end();
      opts.metrics.rpcs.inc({ code: await connectCodeOf(res) });
      return res;
    });
  }
}

/** The service's implementation of one method, as the router would call it. */
function implOf(service: ServiceImpl<typeof IngestService>, name: string): UnaryImpl {
  const impl = (service as unknown as Record<string, UnaryImpl | undefined>)[name];
  if (!impl) throw new Error(`the ingest service does not implement ${name}`);
  return impl.bind(service);
}
