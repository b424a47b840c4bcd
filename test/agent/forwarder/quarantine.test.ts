// The quarantine file: one NDJSON line per refused record, appended, private.
import { afterEach, expect, test } from "bun:test";
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { Quarantine } from "../../../src/agent/forwarder/quarantine.ts";
import { BoundaryLogSchema } from "../../../src/gen/coder/agent/v2/boundary_pb.ts";
import { makeRequest } from "../spool/helpers.ts";
import { tempDir } from "../../helpers/temp.ts";

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

test("records are appended as NDJSON lines to the day's file, 0600 in a 0700 directory, bytes intact", async () => {
  const d = tempDir("br-quarantine-");
  cleanups.push(d.cleanup);
  const dir = join(d.dir, "quarantine");
  const q = new Quarantine(dir, () => new Date("2026-11-23T18:00:00.123Z"));
  const [a, b] = makeRequest("sess", 7, 2).logs;
  const record = (log: typeof a, reason: string) => ({ sessionId: "sess", confinedProcessName: "claude", sequenceNumber: log!.sequenceNumber, record: toBinary(BoundaryLogSchema, log!), reason });
  const path = await q.put([record(a, "invalid_argument: one")]);
  expect(await q.put([record(b, "invalid_argument: two")])).toBe(path);
  expect(path).toBe(join(dir, "2026-11-23.ndjson"));
  const lines = readFileSync(path, "utf8").split("\n");
  expect(lines.at(-1)).toBe("");
  const parsed = lines.slice(0, -1).map((l) => JSON.parse(l));
  expect(parsed.map((p) => [p.time, p.session_id, p.confined_process_name, p.sequence_number, p.reason])).toEqual([
    ["2026-11-23T18:00:00.123Z", "sess", "claude", 7, "invalid_argument: one"],
    ["2026-11-23T18:00:00.123Z", "sess", "claude", 8, "invalid_argument: two"],
  ]);
  expect(fromBinary(BoundaryLogSchema, Buffer.from(parsed[1].record, "base64"))).toEqual(b!);
  expect(statSync(path).mode & 0o777).toBe(0o600);
  expect(statSync(dir).mode & 0o777).toBe(0o700);
});

test("an unwritable quarantine directory is an error, not a silent loss", async () => {
  const q = new Quarantine(join("/proc/self/nonexistent", "quarantine"));
  await expect(q.put([{ sessionId: "s", confinedProcessName: "", sequenceNumber: null, record: new Uint8Array([1, 2]), reason: "x" }])).rejects.toThrow();
});
