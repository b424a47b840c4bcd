// What a failed ReportBoundaryLogs call means for the sender, decided once,
// here, at the edge (as connect-node's node-error.ts does): no caller reads
// error text. Connect reports a fetch that never got an answer (connection
// refused or reset, DNS, TLS, timeouts) as `unknown`; those are platform
// failures of a coderd that is away, so they become `unavailable` (or
// `deadline_exceeded` for a timeout) by following the error's `cause` chain.
import { Code, ConnectError } from "@connectrpc/connect";
import { codeToString } from "@connectrpc/connect/protocol-connect";

/** Every Connect code a failure can carry: the closed label set of forward_retries_total{code}. */
export const FAILURE_CODES = [
  "canceled", "unknown", "invalid_argument", "deadline_exceeded", "not_found", "already_exists",
  "permission_denied", "resource_exhausted", "failed_precondition", "aborted", "out_of_range",
  "unimplemented", "internal", "unavailable", "data_loss", "unauthenticated",
] as const;
export type FailureCode = (typeof FAILURE_CODES)[number];

export type SendFailure =
  /** coderd away, busy or failing: back off and send the same request again. */
  | { kind: "retry"; code: FailureCode; message: string }
  /** invalid_argument: coderd will never take this request as it is (split it, isolate the bad record). */
  | { kind: "refused"; code: "invalid_argument"; message: string }
  /** The agent token was refused: slow retry, not ready. */
  | { kind: "unauthenticated"; code: "unauthenticated"; message: string }
  /** The caller aborted (we are stopping): not a failure of coderd. */
  | { kind: "aborted" };

export function classifySendFailure(err: unknown, signal?: AbortSignal): SendFailure {
  if (signal?.aborted) return { kind: "aborted" };
  const e = ConnectError.from(err);
  const message = e.rawMessage;
  if (e.code === Code.InvalidArgument) return { kind: "refused", code: "invalid_argument", message };
  if (e.code === Code.Unauthenticated) return { kind: "unauthenticated", code: "unauthenticated", message };
  const code = e.code === Code.Unknown ? (platformCode(err) ?? "unknown") : (codeToString(e.code) as FailureCode);
  return { kind: "retry", code, message };
}

/** Error codes (Node/Bun `code`, Deno error `name`) of a peer that could not be reached. */
const UNREACHABLE = new Set([
  "ECONNREFUSED", "ECONNRESET", "ECONNABORTED", "EHOSTUNREACH", "EHOSTDOWN", "ENETUNREACH", "ENETDOWN", "ENOTFOUND",
  "EAI_AGAIN", "EAI_FAIL", "EAI_NONAME", "EPIPE", "EADDRNOTAVAIL", "EPROTO", "UND_ERR_SOCKET", "UND_ERR_CLOSED",
  "ConnectionRefused", "ConnectionReset", "ConnectionAborted", "ConnectionClosed", "FailedToOpenSocket",
  "NotConnected", "AddrNotAvailable", "BrokenPipe", "NetworkUnreachable", "HostUnreachable",
]);
const TIMED_OUT = new Set(["ETIMEDOUT", "ESOCKETTIMEDOUT", "UND_ERR_CONNECT_TIMEOUT", "UND_ERR_HEADERS_TIMEOUT", "TimedOut", "TimeoutError"]);
/** TLS failures: certificate checks (Node/Bun codes) and handshake errors. */
const TLS = /CERT|TLS|SSL|_SIGNATURE|_ISSUER/;
/** How deep a `cause` chain is followed. */
const MAX_CAUSES = 8;

/** `unavailable` / `deadline_exceeded` for a platform failure anywhere in err's cause chain, else null. */
export function platformCode(err: unknown): "unavailable" | "deadline_exceeded" | null {
  let networkError = false;
  let e: unknown = err;
  for (let depth = 0; e instanceof Error && depth < MAX_CAUSES; depth++, e = e.cause) {
    const code = (e as { code?: unknown }).code;
    for (const id of [typeof code === "string" ? code : "", e.name]) {
      if (TIMED_OUT.has(id)) return "deadline_exceeded";
      if (UNREACHABLE.has(id) || TLS.test(id)) return "unavailable";
    }
    // The Fetch standard rejects with a TypeError when no response arrived.
    if (e instanceof TypeError) networkError = true;
  }
  return networkError ? "unavailable" : null;
}
