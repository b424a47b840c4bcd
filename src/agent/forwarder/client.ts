// The Connect client for boundaryrelay.v1.IngestService/ReportBoundaryLogs:
// binary protobuf over fetch (keep-alive in Bun and Deno), the agent token
// as a bearer token, and an optional CA file for an https coderd.
import { Code, ConnectError } from "@connectrpc/connect";
import { codeToString } from "@connectrpc/connect/protocol-connect";
import { createIngestClient as createCoderdClient } from "../../coderd/client.ts";
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
  const client = createCoderdClient({
    baseUrl: opts.baseUrl,
    token: opts.token,
    fetch: opts.caPem ? fetchWithCa(opts.caPem) : undefined,
  });
  const timeoutMs = opts.timeoutMs ?? 30_000;
  return async (request, signal) => {
    await client.reportBoundaryLogs(request, { signal, timeoutMs });
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
