// The boundary_request lines coderd writes, compared byte for byte with
// hand-written golden files: the shared v2_logs vector (whose third URL
// tries to forge a line) sent through a real coderd in both formats.
import { afterEach, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { FrameDecoder } from "../../src/wire/decoder.ts";
import { vector } from "../helpers/vectors.ts";
import { TestClock, batch, log, startTestServer, type TestServer } from "./helpers.ts";

const GOLDEN = join(import.meta.dir, "golden");
const NOW = Date.parse("2025-12-08T20:58:50.250Z");

function v2LogsRequest() {
  const [frame] = new FrameDecoder().push(vector("v2_logs").bytes);
  if (frame?.kind !== "logs") throw new Error("v2_logs vector did not decode to logs");
  return frame.request;
}

let t: TestServer | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

describe("emission", () => {
  for (const format of ["text", "json"] as const) {
    test(`${format}: the v2_logs vector comes out exactly as the golden lines, in one write`, async () => {
      t = await startTestServer(["--log-format", format], { now: new TestClock(NOW).now });
      const before = t.writes.length;
      await t.client().reportBoundaryLogs(v2LogsRequest());
      const written = t.writes.slice(before);
      expect(written.length).toBe(1);
      expect(written[0]).toBe(readFileSync(join(GOLDEN, `v2_logs.${format}`), "utf8"));
      // The forged "[info]" never starts a line of its own.
      expect(written[0]!.split("\n").filter((l) => l !== "").length).toBe(3);
      expect(written[0]!.split("\n").some((l) => l.startsWith("[info] forged"))).toBe(false);
      if (format === "json") for (const line of written[0]!.trimEnd().split("\n")) expect(() => JSON.parse(line)).not.toThrow();
    });
  }

  test("a replayed batch is not emitted again; only the new record of an overlapping retry is", async () => {
    t = await startTestServer([], { now: new TestClock(NOW).now });
    const req = v2LogsRequest();
    await t.client().reportBoundaryLogs(req);
    const before = t.writes.length;
    await t.client().reportBoundaryLogs(req);
    expect(t.writes.length).toBe(before);
    await t.client().reportBoundaryLogs(batch([log(2, false, "https://x.example/"), log(3, true, "https://new.example/")], req.sessionId));
    expect(t.writes.slice(before).join("")).toContain("sequence_number=3 ");
    expect(t.writes.slice(before).join("").split("\n").filter(Boolean).length).toBe(1);
  });

  test("control characters, unicode line separators and quotes in every free-text field stay on one line", async () => {
    t = await startTestServer(["--log-format", "text"], { now: new TestClock(NOW).now });
    const nasty = 'a b"c=d\r\ne\u2028f\u0000g\u001b[31m';
    const req = batch([log(0, true, `https://n.example/${encodeURIComponent("x")}`)], "99999999-9999-4999-8999-999999999999", nasty);
    req.logs[0]!.resource = { case: "httpRequest", value: { ...(req.logs[0]!.resource.value as any), method: nasty, url: `https://n.example/${nasty}`, matchedRule: nasty } };
    await t.client().reportBoundaryLogs(req);
    const text = t.writes.at(-1)!;
    expect(text.endsWith("\n")).toBe(true);
    expect(text.slice(0, -1)).not.toMatch(/[\n\r\u2028\u2029\u0000\u001b]/);
    expect(text).toContain('confined_process_name="a b\\"c=d\\r\\ne\\u2028f\\x00g\\x1b[31m"');
  });
});
