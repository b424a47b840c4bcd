// The Connect client for boundaryrelay.v1.IngestService/ReportBoundaryLogs:
// binary protobuf over fetch (keep-alive in Bun and Deno), the agent token
// as a bearer token, and an optional CA file for an https coderd.
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";
import { codeToString } from "@connectrpc/connect/protocol-connect";
import { IngestService } from "../../gen/boundaryrelay/v1/ingest_pb.ts";
import type { ReportBoundaryLogsRequest } from "../../gen/coder/agent/v2/boundary_pb.ts";
import { fetchWithCa } from "../../runtime/adapter.ts";

/** Sends one request; resolves when coderd acknowledged it, throws a ConnectError otherwise. */
export type SendFn = (request: ReportBoundaryLogsRequest, signal: AbortSignal) => Promise<void>;

export interface IngestClientOptions {
  /** coderd's base URL; the RPC path is appended to it. */
  baseUrl: string;
  token: string;
  /** PEM text of extra CA certificates to trust, or "" for the system's. */
  caPem?: string;
  /** Per-request timeout, ms. */
  timeoutMs?: number;
}

export function createIngestClient(opts: IngestClientOptions): SendFn {
  const transport = createConnectTransport({
    baseUrl: opts.baseUrl,
    useBinaryFormat: true,
    fetch: opts.caPem ? fetchWithCa(opts.caPem) : undefined,
  });
  const client = createClient(IngestService, transport);
  const headers = { Authorization: `Bearer ${opts.token}` };
  const timeoutMs = opts.timeoutMs ?? 30_000;
  return async (request, signal) => {
    await client.reportBoundaryLogs(request, { headers, signal, timeoutMs });
  };
}

/** The Connect code of a failure (network errors and the like become unavailable). */
export function failureCode(err: unknown): Code {
  const ce = ConnectError.from(err);
  return ce.code === Code.Unknown && !(err instanceof ConnectError) ? Code.Unavailable : ce.code;
}

/** "unavailable", "resource_exhausted", … for metric labels (a bounded set). */
export function codeName(code: Code): string {
  return codeToString(code);
}

export function failureMessage(err: unknown): string {
  return ConnectError.from(err).rawMessage || String(err);
}
