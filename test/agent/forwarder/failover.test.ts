// failoverSend (src/agent/forwarder/failover.ts): a replica that is away
// hands the request to the next at once and the one that answered stays
// current; a live coderd's refusal is not failed over.
import { describe, expect, test } from "bun:test";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { failoverSend } from "../../../src/agent/forwarder/failover.ts";
import type { SendFn } from "../../../src/agent/forwarder/forwarder.ts";
import { type ReportBoundaryLogsRequest, ReportBoundaryLogsRequestSchema } from "../../../src/gen/coder/agent/v2/boundary_pb.ts";

const request = create(ReportBoundaryLogsRequestSchema, {});
const signal = new AbortController().signal;

function replica(name: string, calls: string[], fail: () => Error | null): SendFn<ReportBoundaryLogsRequest> {
  return async () => {
    calls.push(name);
    const err = fail();
    if (err) throw err;
  };
}

describe("failoverSend", () => {
  test("an unavailable replica passes the request to the next; the one that answered stays current", async () => {
    const calls: string[] = [];
    let aDown = true;
    const send = failoverSend([
      replica("a", calls, () => (aDown ? new ConnectError("down", Code.Unavailable) : null)),
      replica("b", calls, () => null),
    ]);
    await send(request, signal);
    await send(request, signal);
    expect(calls).toEqual(["a", "b", "b"]);
    aDown = false;
    await send(request, signal);
    expect(calls).toEqual(["a", "b", "b", "b"]);
  });

  test("when every replica fails the last failure is thrown and the next send starts elsewhere", async () => {
    const calls: string[] = [];
    const send = failoverSend([
      replica("a", calls, () => new ConnectError("a down", Code.Unavailable)),
      replica("b", calls, () => new ConnectError("b down", Code.Unavailable)),
    ]);
    await expect(send(request, signal)).rejects.toThrow("b down");
    await expect(send(request, signal)).rejects.toThrow("a down");
    expect(calls).toEqual(["a", "b", "b", "a"]);
  });

  test("a refusal (invalid_argument, unauthenticated) is a live coderd's answer: no failover", async () => {
    for (const code of [Code.InvalidArgument, Code.Unauthenticated]) {
      const calls: string[] = [];
      const send = failoverSend([replica("a", calls, () => new ConnectError("no", code)), replica("b", calls, () => null)]);
      await expect(send(request, signal)).rejects.toThrow("no");
      expect(calls).toEqual(["a"]);
    }
  });
});
