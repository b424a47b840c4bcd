// Binary unary Connect calls answered without the router's stream machinery.
// Every call the agent makes is a POST of application/proto, uncompressed,
// with a Content-Length (rpc/ingest-client.ts). For those the body is read
// in one piece, checked by the method's byte check, decoded, and handed to
// the same service implementation the router calls, through a context
// built the way the router builds it; the answer is what the router would
// send: the same status, content-type, content-length and JSON error body.
// Anything else (JSON, GET, a compressed body, no Content-Length, a body
// over the limit, a connect-timeout-ms the router refuses) is left to the
// router, which answers it as before.
import { create, fromBinary, isMessage, toBinary, type DescMethod, type Message } from "@bufbuild/protobuf";
import { Code, ConnectError, createContextValues, createHandlerContext, type HandlerContext } from "@connectrpc/connect";
import { codeToHttpStatus, errorToJsonBytes, parseTimeout, trailerMux } from "@connectrpc/connect/protocol-connect";
import { describeInvalid, type InvalidField } from "../record/validity.ts";

export type BodyCheck = (body: Uint8Array) => InvalidField | null;

/** A unary method's implementation, as the router calls it. */
export type UnaryImpl = (request: Message, ctx: HandlerContext) => Promise<object> | object;

export interface DirectUnary {
  /** A unary method (methodKind "unary"). */
  method: DescMethod;
  impl: UnaryImpl;
  /** The router's request gate: throws a ConnectError to refuse the call before its body is read. */
  gate: (ctx: HandlerContext) => void;
  check: BodyCheck;
}

/** True when the router would read this request as binary unary Connect we can answer the same way. */
export function answersDirectly(req: Request, maxBodyBytes: number): boolean {
  if (req.method !== "POST") return false;
  const h = req.headers;
  if (h.get("content-type")?.toLowerCase() !== "application/proto") return false;
  const encoding = h.get("content-encoding");
  if (encoding !== null && encoding.toLowerCase() !== "identity") return false;
  const length = h.get("content-length");
  if (length === null || !/^\d{1,10}$/.test(length) || Number(length) > maxBodyBytes) return false;
  return parseTimeout(h.get("connect-timeout-ms"), Number.MAX_SAFE_INTEGER).error === undefined;
}

/** Answers a request answersDirectly() took, as the router would. */
export async function answerDirectly(req: Request, call: DirectUnary): Promise<Response> {
  const { method } = call;
  const ctx = createHandlerContext({
    service: method.parent,
    method,
    protocolName: "connect",
    requestMethod: req.method,
    url: req.url,
    timeoutMs: parseTimeout(req.headers.get("connect-timeout-ms"), Number.MAX_SAFE_INTEGER).timeoutMs,
    requestSignal: req.signal,
    requestHeader: req.headers,
    responseHeader: { "content-type": "application/proto" },
    contextValues: createContextValues(),
  });
  let status = 200;
  let body: Uint8Array;
  try {
    call.gate(ctx);
    const input = decode(call, new Uint8Array(await req.arrayBuffer()));
    const output = await call.impl(input, ctx);
    body = toBinary(method.output, isMessage(output, method.output) ? output : create(method.output, output as never));
  } catch (err) {
    ctx.abort(err);
    const error = err instanceof ConnectError ? err : new ConnectError("internal error", Code.Internal, undefined, undefined, err);
    status = codeToHttpStatus(error.code);
    ctx.responseHeader.set("content-type", "application/json");
    body = errorToJsonBytes(error, {});
  } finally {
    ctx.abort();
  }
  const headers = trailerMux(ctx.responseHeader, ctx.responseTrailer); // a unary call's trailers travel as trailer-* headers
  headers.set("content-length", String(body.byteLength));
  return new Response(body as Uint8Array<ArrayBuffer>, { status, headers });
}

function decode(call: DirectUnary, body: Uint8Array): Message {
  const invalid = call.check(body);
  if (invalid) throw new ConnectError(describeInvalid(invalid), Code.InvalidArgument);
  return fromBinary(call.method.input, body); // cannot fail on a body the check passed
}
