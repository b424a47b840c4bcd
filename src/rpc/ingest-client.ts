// The one Connect client of coderd's IngestService
// (boundaryrelay.v1.IngestService/ReportBoundaryLogs): binary protobuf over
// fetch (keep-alive in Bun and Deno), the agent token as a bearer token, and
// extra CA certificates for an https coderd. The agent's forwarder sends
// through it; tests, benchmarks and `dev` use it as coderd's clients would.
// It only builds the client: what a failure means is failure.ts's job.
import { createClient, type Client, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";
import { IngestService } from "../gen/boundaryrelay/v1/ingest_pb.ts";
import { fetchWithCa } from "../runtime/adapter.ts";

export interface IngestClientOptions {
  /** coderd's base URL; the RPC path is appended to it. */
  baseUrl: string;
  /** Agent token, sent as `Authorization: Bearer …`; omit to send none. */
  token?: string;
  /** PEM text of extra CA certificates to trust; omitted or "" for the system's. */
  caPem?: string;
  /** application/proto (default) or application/json. */
  binary?: boolean;
}

export type IngestClient = Client<typeof IngestService>;

export function createIngestClient(opts: IngestClientOptions): IngestClient {
  const token = opts.token;
  const auth: Interceptor = (next) => (req) => {
    if (token !== undefined) req.header.set("Authorization", `Bearer ${token}`);
    return next(req);
  };
  const transport = createConnectTransport({
    baseUrl: opts.baseUrl,
    useBinaryFormat: opts.binary ?? true,
    interceptors: [auth],
    fetch: opts.caPem ? fetchWithCa(opts.caPem) : undefined,
  });
  return createClient(IngestService, transport);
}
