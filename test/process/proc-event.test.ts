// parseProcEvents against datagrams captured from the kernel (test/process/vectors/).
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseProcEvents } from "../../src/process/proc-event.ts";
import { connectorMessage, subscribeMessage } from "../../src/runtime/proc-connector.ts";

const DIR = join(import.meta.dir, "vectors");
const names = readdirSync(DIR).filter((f) => f.endsWith(".bin")).map((f) => f.slice(0, -4));

const plain = (events: ReturnType<typeof parseProcEvents>) =>
  events.map((e) => (e.kind === "exec" ? { ...e, timestampNs: e.timestampNs.toString() } : e));

describe("proc-event: captured datagrams", () => {
  test("there are vectors", () => expect(names.length).toBeGreaterThanOrEqual(6));
  for (const name of names) {
    test(name, () => {
      const bytes = new Uint8Array(readFileSync(join(DIR, `${name}.bin`)));
      const want = JSON.parse(readFileSync(join(DIR, `${name}.json`), "utf8")).events;
      expect(plain(parseProcEvents(bytes))).toEqual(want);
    });
  }
});

describe("proc-event: hostile input", () => {
  test("every prefix of a captured exec datagram parses without throwing", () => {
    const bytes = new Uint8Array(readFileSync(join(DIR, "exec_true.bin")));
    for (let n = 0; n < bytes.length; n++) {
      const events = parseProcEvents(bytes.subarray(0, n));
      for (const e of events) expect(e.kind).toBe("malformed");
    }
  });
  test("random bytes never throw", () => {
    for (let i = 0; i < 2000; i++) {
      const bytes = crypto.getRandomValues(new Uint8Array(i % 200));
      expect(() => parseProcEvents(bytes)).not.toThrow();
    }
  });
  test("two messages in one datagram are both read", () => {
    const one = new Uint8Array(readFileSync(join(DIR, "exec_true.bin")));
    const two = new Uint8Array(one.length * 2);
    two.set(one, 0);
    two.set(one, one.length);
    expect(parseProcEvents(two).map((e) => e.kind)).toEqual(["exec", "exec"]);
  });
  test("an event too short for its kind is malformed", () => {
    const msg = connectorMessage(new Uint8Array(16)); // proc_event header only, what = NONE
    expect(parseProcEvents(msg)).toEqual([{ kind: "malformed", reason: "short_event" }]);
  });
});

describe("proc-connector messages", () => {
  test("the bare subscription is the 40-byte message the kernel acknowledged when captured", () => {
    expect(Buffer.from(subscribeMessage(false)).toString("hex")).toBe(
      "28000000030000000000000000000000010000000100000000000000000000000400000001000000",
    );
  });
  test("the exec-only subscription carries struct proc_input { LISTEN, PROC_EVENT_EXEC }", () => {
    const m = subscribeMessage(true);
    expect(m.length).toBe(44);
    expect(Buffer.from(m.subarray(36)).toString("hex")).toBe("0100000002000000");
  });
});
