// afterFailure is the one place the forwarder's view of coderd changes on a
// failure: a table of (link before, failure) → link after.
import { describe, expect, test } from "bun:test";
import { RetryTiming } from "../../../src/agent/forwarder/backoff.ts";
import { afterFailure, LINK_UP, notReadyReason, sendsAllowedAt, TOKEN_REFUSED, type Link } from "../../../src/agent/forwarder/link.ts";
import type { SendFailure } from "../../../src/rpc/index.ts";

const NOW = 1_000_000;
/** random() just under 1: each delay is its ceiling minus 1 ms. */
const t = new RetryTiming({ initialMs: 100, maxMs: 1000, random: () => 0.999999 });

const unavailable: SendFailure = { kind: "retry", code: "unavailable", message: "ECONNREFUSED" };
const exhausted: SendFailure = { kind: "retry", code: "resource_exhausted", message: "busy" };
const refusedToken: SendFailure = { kind: "unauthenticated", code: "unauthenticated", message: "unknown agent token" };
const refusedRecord: SendFailure = { kind: "refused", code: "invalid_argument", message: "logs[0].time" };
const aborted: SendFailure = { kind: "aborted" };

const backingOff = (failures: number, until: number): Link => ({ kind: "backing_off", failures, until, reason: "coderd unreachable: unavailable: x" });
const lockedOut: Link = { kind: "locked_out", until: NOW + 500, reason: TOKEN_REFUSED };

describe("afterFailure", () => {
  const table: Array<[string, Link, SendFailure, Link]> = [
    ["up, unavailable → backing off, 1 failure", LINK_UP, unavailable, { kind: "backing_off", failures: 1, until: NOW + 99, reason: "coderd unreachable: unavailable: ECONNREFUSED" }],
    ["backing off, unavailable again → one more failure, longer wait", backingOff(2, NOW), unavailable, { kind: "backing_off", failures: 3, until: NOW + 399, reason: "coderd unreachable: unavailable: ECONNREFUSED" }],
    ["the wait is capped at maxMs", backingOff(40, NOW), unavailable, { kind: "backing_off", failures: 41, until: NOW + 999, reason: "coderd unreachable: unavailable: ECONNREFUSED" }],
    ["failures in flight together never shorten the wait", backingOff(1, NOW + 5000), unavailable, { kind: "backing_off", failures: 2, until: NOW + 5000, reason: "coderd unreachable: unavailable: ECONNREFUSED" }],
    ["resource_exhausted reads as overloaded", LINK_UP, exhausted, { kind: "backing_off", failures: 1, until: NOW + 99, reason: "coderd is overloaded (resource_exhausted: busy)" }],
    ["locked out, then unavailable → backing off from 1", lockedOut, unavailable, { kind: "backing_off", failures: 1, until: NOW + 500, reason: "coderd unreachable: unavailable: ECONNREFUSED" }],
    ["up, token refused → locked out for retry_max", LINK_UP, refusedToken, { kind: "locked_out", until: NOW + 1000, reason: TOKEN_REFUSED }],
    ["backing off, token refused → locked out", backingOff(3, NOW + 50), refusedToken, { kind: "locked_out", until: NOW + 1000, reason: TOKEN_REFUSED }],
    ["a refused record leaves the link up", LINK_UP, refusedRecord, LINK_UP],
    ["a refused record leaves a backing-off link as it was", backingOff(2, NOW + 7), refusedRecord, backingOff(2, NOW + 7)],
    ["aborting changes nothing", lockedOut, aborted, lockedOut],
  ];
  for (const [name, before, failure, after] of table) {
    test(name, () => expect(afterFailure(before, failure, NOW, t)).toEqual(after));
  }
});

test("notReadyReason and sendsAllowedAt read the link", () => {
  expect(notReadyReason(LINK_UP)).toBeNull();
  expect(sendsAllowedAt(LINK_UP)).toBe(0);
  expect(notReadyReason(lockedOut)).toBe(TOKEN_REFUSED);
  expect(sendsAllowedAt(backingOff(1, NOW + 3))).toBe(NOW + 3);
});
