// The forwarder's request kinds: exec records (ReportProcessLogsRequest) are
// scanned, coalesced and rebuilt from their spooled bytes without loss, and
// an older run's exec entries are checked by coderd's rules, naming the field.
import { describe, expect, test } from "bun:test";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Coalescer } from "../../../src/agent/forwarder/batch.ts";
import { EXEC_KIND } from "../../../src/agent/forwarder/kinds.ts";
import { ProcessExecSchema, ReportProcessLogsRequestSchema } from "../../../src/gen/boundaryrelay/v1/process_pb.ts";

const BOOT = "86ce15cf-80a2-4b5e-831f-4743ffd37b5f";
const exec = (pid: number, argv: string[]) =>
  create(ProcessExecSchema, { time: timestampFromMs(1765227526093 + pid), monotonicNs: BigInt(pid), pid, ppid: 1, filename: `/bin/${argv[0]}`, argv, comm: argv[0], cmdline: argv.join(" ") });
const encoded = (pids: number[], bootId = BOOT) =>
  toBinary(ReportProcessLogsRequestSchema, create(ReportProcessLogsRequestSchema, { bootId, execs: pids.map((p) => exec(p, ["true", String(p)])) }));

describe("EXEC_KIND", () => {
  test("two spool entries coalesce into one request holding every exec, byte for byte", () => {
    const coalescer = new Coalescer({ maxRecords: 1000, maxBytes: 1 << 20 });
    const first = encoded([1, 2]);
    const second = encoded([3]);
    coalescer.add({ segment: 1, offset: 0 }, EXEC_KIND.scan(first), first.length, 0);
    coalescer.add({ segment: 1, offset: 100 }, EXEC_KIND.scan(second), second.length, 0);
    const [batch] = coalescer.takeOpenedBy(Infinity);
    const sent = fromBinary(ReportProcessLogsRequestSchema, toBinary(ReportProcessLogsRequestSchema, EXEC_KIND.build(batch!)));
    expect(sent.bootId).toBe(BOOT);
    expect(sent.execs.map((e) => e.argv)).toEqual([["true", "1"], ["true", "2"], ["true", "3"]]);
    expect(sent.execs[2]).toEqual(exec(3, ["true", "3"]));
  });

  test("execs of two boots are two requests", () => {
    const coalescer = new Coalescer({ maxRecords: 1000, maxBytes: 1 << 20 });
    const other = "11111111-2222-4333-8444-555555555555";
    for (const [i, body] of [encoded([1]), encoded([2], other)].entries()) coalescer.add({ segment: 1, offset: i }, EXEC_KIND.scan(body), body.length, 0);
    expect(coalescer.takeOpenedBy(Infinity).map((b) => EXEC_KIND.build(b).bootId).sort()).toEqual([other, BOOT].sort());
  });

  test("the check applies coderd's rules and names the field; one exec alone is checkable", () => {
    expect(EXEC_KIND.check(encoded([1, 2]))).toBeNull();
    expect(EXEC_KIND.check(encoded([1, 0]))?.field).toBe("execs[1].pid");
    expect(EXEC_KIND.check(encoded([1], "not-a-boot-id"))?.field).toBe("boot_id");
    expect(EXEC_KIND.check(new Uint8Array([18, 10, 1]))).toMatchObject({ kind: "malformed_protobuf", field: "execs[0]" });
    const body = encoded([5, 0]);
    const scanned = EXEC_KIND.scan(body);
    expect(EXEC_KIND.check(EXEC_KIND.requestOfOne(scanned.logs[0]!, scanned))).toBeNull();
    expect(EXEC_KIND.check(EXEC_KIND.requestOfOne(scanned.logs[1]!, scanned))?.field).toBe("execs[0].pid");
  });
});
