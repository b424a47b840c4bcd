// The forwarder's view of coderd, as one value moved by pure functions.
//   up           sends go out as soon as there is a slot;
//   backing_off  coderd is away, failing or busy: no send before `until`,
//                which grows with each consecutive failure (RetryTiming);
//   locked_out   coderd refused the agent token: no send before `until`
//                (retry_max later), not ready until a send succeeds.
// A refused record (invalid_argument) concerns its batch, not the link.
import type { SendFailure } from "../../rpc/index.ts";
import type { RetryTiming } from "./backoff.ts";

export type Link =
  | { kind: "up" }
  | { kind: "backing_off"; until: number; failures: number; reason: string }
  | { kind: "locked_out"; until: number; reason: string };

export const LINK_UP: Link = { kind: "up" };

export const TOKEN_REFUSED = "coderd rejected the agent token (unauthenticated)";

export function afterFailure(link: Link, f: SendFailure, now: number, t: RetryTiming): Link {
  switch (f.kind) {
    case "unauthenticated":
      return { kind: "locked_out", until: now + t.maxMs, reason: TOKEN_REFUSED };
    case "retry": {
      const failures = link.kind === "backing_off" ? link.failures + 1 : 1;
      // Several requests in flight fail together: the wait never shrinks.
      const until = Math.max(now + t.delay(failures), link.kind === "up" ? 0 : link.until);
      const reason = f.code === "resource_exhausted" ? `coderd is overloaded (resource_exhausted: ${f.message})` : `coderd unreachable: ${f.code}: ${f.message}`;
      return { kind: "backing_off", until, failures, reason };
    }
    case "refused":
    case "aborted":
      return link;
  }
}

/** Earliest time a request may go out (ms since the epoch). */
export function sendsAllowedAt(link: Link): number {
  return link.kind === "up" ? 0 : link.until;
}

export function notReadyReason(link: Link): string | null {
  return link.kind === "up" ? null : link.reason;
}
