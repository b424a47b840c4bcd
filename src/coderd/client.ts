// A Connect client of coderd's IngestService over fetch, binary by default:
// the agent's forwarder sends through it, and the tests use it. The agent
// token goes in Authorization: Bearer.
import { createClient, type Client, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";
import { IngestService } from "../gen/boundaryrelay/v1/ingest_pb.ts";

export interface IngestClientOptions {
  baseUrl: string;
  /** Agent token; omit to send none. */
  token?: string;
  /** application/proto (default) or application/json. */
  binary?: boolean;
  fetch?: typeof globalThis.fetch;
}

export type IngestClient = Client<typeof IngestService>;

export function createIngestClient(opts: IngestClientOptions): IngestClient {
  const auth: Interceptor = (next) => async (req) => {
    if (opts.token !== undefined) req.header.set("Authorization", `Bearer ${opts.token}`);
    return next(req);
  };
  const transport = createConnectTransport({
    baseUrl: opts.baseUrl,
    useBinaryFormat: opts.binary ?? true,
    interceptors: [auth],
    fetch: opts.fetch,
  });
  return createClient(IngestService, transport);
}
