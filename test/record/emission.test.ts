import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { FrameDecoder } from "../../src/wire/decoder.ts";
import { EMISSION_MESSAGE, formatJson, formatText, lineFields, textLine, type EmittedRecord, type LineRecord } from "../../src/record/emission.ts";
import { goQuote, logfmtValue } from "../../src/record/goquote.ts";
import { rfc3339Nano } from "../../src/record/time.ts";
import type { AgentIdentity } from "../../src/record/identity.ts";
import { vector } from "../helpers/vectors.ts";

const identity: AgentIdentity = {
  agentId: "a0000000-0000-4000-8000-000000000001",
  agentName: "main",
  workspaceId: "b0000000-0000-4000-8000-000000000002",
  workspaceName: "dev",
  ownerId: "c0000000-0000-4000-8000-000000000003",
  ownerName: "alice",
  templateId: "d0000000-0000-4000-8000-000000000004",
  templateVersionId: "e0000000-0000-4000-8000-000000000005",
};
const now = new Date(Date.UTC(2025, 11, 8, 20, 58, 46, 93));

function v2Records(): EmittedRecord[] {
  const [frame] = new FrameDecoder().push(vector("v2_logs").bytes);
  if (frame?.kind !== "logs") throw new Error("expected logs");
  return frame.request.logs.map((log) => ({ sessionId: frame.request.sessionId, confinedProcessName: frame.request.confinedProcessName, log }));
}

describe("text lines", () => {
  test("golden lines for the v2_logs vector", () => {
    const lines = v2Records().map((r) => formatText(r, identity, now));
    const ws = `workspace_id=${identity.workspaceId} workspace_name=dev owner=alice template_id=${identity.templateId} template_version_id=${identity.templateVersionId}`;
    expect(lines).toEqual([
      `2025-12-08 20:58:46.093 [info] boundary_request decision=allow session_id=8f7c2a4e-3b1d-4c5e-9f60-1a2b3c4d5e6f sequence_number=0 ${ws} confined_process_name=claude http_method=GET http_url=https://github.com/coder/boundary matched_rule="domain=github.com" event_time=2025-12-08T20:58:46.093Z`,
      `2025-12-08 20:58:46.093 [warn] boundary_request decision=deny session_id=8f7c2a4e-3b1d-4c5e-9f60-1a2b3c4d5e6f sequence_number=1 ${ws} confined_process_name=claude http_method=POST http_url=https://pastebin.com/api/api_post.php event_time=2025-12-08T20:58:47.000000005Z`,
      `2025-12-08 20:58:46.093 [warn] boundary_request decision=deny session_id=8f7c2a4e-3b1d-4c5e-9f60-1a2b3c4d5e6f sequence_number=2 ${ws} confined_process_name=claude http_method=GET http_url="https://例え.jp/path?q=\\"x\\"\\n[info] forged line" event_time=2025-12-08T20:58:48Z`,
    ]);
    for (const line of lines) expect(line.split("\n")).toHaveLength(1);
  });

  test("equal, line by line, to lineFields written out as logfmt, whatever the run of sessions and workspaces", () => {
    // textLine quotes a run's shared identity once: any field that changes
    // between neighbouring lines must still show in the next line.
    const text = fc.oneof(fc.constantFrom("", "dev", "a b", "k=v", 'q"', "é", "\u2028"), fc.string({ maxLength: 6 }));
    const workspaceArb = fc.option(
      fc.record({ workspaceId: text, workspaceName: text, ownerName: text, templateId: text, templateVersionId: text }),
      { nil: null },
    );
    const lineArb = fc.record({
      allowed: fc.boolean(), sessionId: text, sequenceNumber: fc.nat(), workspace: workspaceArb, confinedProcessName: text,
      httpMethod: text, httpUrl: text, matchedRule: text, eventTime: text,
    });
    const reference = (line: LineRecord) =>
      `2025-12-08 20:58:46.093 [${line.allowed ? "info" : "warn"}] ${EMISSION_MESSAGE}` +
      lineFields(line).map(([name, value]) => ` ${name}=${typeof value === "number" ? value : logfmtValue(value)}`).join("");
    // Runs: a line often repeats its neighbour's identity, with one field changed or none.
    const runArb = fc.array(fc.tuple(lineArb, fc.nat(3)), { minLength: 1, maxLength: 30 }).map((pairs) => {
      const lines: LineRecord[] = [];
      for (const [line, reuse] of pairs) {
        const prev = lines.at(-1);
        if (prev && reuse > 0) {
          const workspace = prev.workspace && (reuse === 1 ? { ...prev.workspace } : reuse === 2 ? { ...prev.workspace, ownerName: `${prev.workspace.ownerName}x` } : prev.workspace);
          lines.push({ ...line, workspace, confinedProcessName: reuse === 3 ? `${prev.confinedProcessName}y` : prev.confinedProcessName });
        } else lines.push(line);
      }
      return lines;
    });
    fc.assert(fc.property(runArb, (lines) => lines.every((line) => textLine(line, now) === reference(line))), { numRuns: 500 });
  });

  test("quoting follows Go's strconv.Quote", () => {
    expect(goQuote('a"b\\c\n\t\x00\x7f\u200b😀é')).toBe('"a\\"b\\\\c\\n\\t\\x00\\x7f\\u200b😀é"');
    expect(logfmtValue("")).toBe('""');
    expect(logfmtValue("plain/path?x&y")).toBe("plain/path?x&y");
    expect(logfmtValue("a b")).toBe('"a b"');
    expect(logfmtValue("k=v")).toBe('"k=v"');
    expect(logfmtValue("line\u2028sep")).toBe('"line\\u2028sep"');
  });
});

describe("json lines", () => {
  test("one object per line, fields in order, forged line stays inside", () => {
    const lines = v2Records().map((r) => formatJson(r, identity, now));
    for (const line of lines) expect(line.includes("\n")).toBe(false);
    const third = JSON.parse(lines[2]!);
    expect(third).toEqual({
      ts: "2025-12-08T20:58:46.093Z",
      level: "WARN",
      msg: "boundary_request",
      fields: {
        decision: "deny",
        session_id: "8f7c2a4e-3b1d-4c5e-9f60-1a2b3c4d5e6f",
        sequence_number: 2,
        workspace_id: identity.workspaceId,
        workspace_name: "dev",
        owner: "alice",
        template_id: identity.templateId,
        template_version_id: identity.templateVersionId,
        confined_process_name: "claude",
        http_method: "GET",
        http_url: 'https://例え.jp/path?q="x"\n[info] forged line',
        event_time: "2025-12-08T20:58:48Z",
      },
    });
    expect(JSON.parse(lines[0]!).fields.matched_rule).toBe("domain=github.com");
    expect("matched_rule" in JSON.parse(lines[1]!).fields).toBe(false);
  });

  test("without identity the workspace fields are left out", () => {
    const fields = JSON.parse(formatJson(v2Records()[0]!, null, now)).fields;
    expect(Object.keys(fields)).toEqual([
      "decision", "session_id", "sequence_number", "confined_process_name", "http_method", "http_url", "matched_rule", "event_time",
    ]);
  });
});

test("rfc3339Nano trims like Go", () => {
  expect(rfc3339Nano({ seconds: 1765227527n, nanos: 5 } as any)).toBe("2025-12-08T20:58:47.000000005Z");
  expect(rfc3339Nano({ seconds: 1765227526n, nanos: 93000000 } as any)).toBe("2025-12-08T20:58:46.093Z");
  expect(rfc3339Nano(undefined)).toBe("1970-01-01T00:00:00Z");
});

test("goQuote gives Go's strconv.Quote output, byte for byte", () => {
  // Expected values as Go 1.22 prints them (fmt.Println(strconv.Quote(v))).
  const cases: Array<[string, string]> = [
    ["", '""'],
    ["domain=registry.npmjs.org", '"domain=registry.npmjs.org"'],
    [" !\"#$%&'()*+,-./09:;<=>?@AZ[\\]^_`az{|}~", String.raw`" !\"#$%&'()*+,-./09:;<=>?@AZ[\\]^_` + "`" + String.raw`az{|}~"`],
    ["a\tb\nc\rd\x07e\bf\fg\vh", String.raw`"a\tb\nc\rd\ae\bf\fg\vh"`],
    ["\x00\x1b[31m\x1c\x7f", String.raw`"\x00\x1b[31m\x1c\x7f"`],
    ["\u0080\u0085\u009b\u009f", String.raw`"\u0080\u0085\u009b\u009f"`],
    ["\u00a0\u2028\u2029\u200b\ufeff", String.raw`"\u00a0\u2028\u2029\u200b\ufeff"`],
    ["é例え😀", '"é例え😀"'],
  ];
  for (const [value, go] of cases) expect({ value, quoted: goQuote(value) }).toEqual({ value, quoted: go });
});

test("logfmtValue leaves plain values bare and quotes the rest", () => {
  const cases: Array<[string, string]> = [
    ["https://github.com/coder/boundary?x=1&y", '"https://github.com/coder/boundary?x=1&y"'],
    ["https://github.com/coder/boundary?x&y", "https://github.com/coder/boundary?x&y"],
    ["例え.jp", "例え.jp"],
    ["a\u0085b", String.raw`"a\u0085b"`],
    ["a\u2028b", String.raw`"a\u2028b"`],
    ["a\x7fb", String.raw`"a\x7fb"`],
  ];
  for (const [value, text] of cases) expect({ value, text: logfmtValue(value) }).toEqual({ value, text });
});

test("JSON lines escape DEL, C1 controls and U+2028/U+2029, and still parse to the value", () => {
  const url = "https://x.example/\u0085\u007f\u009b\u2028\u2029\u0000\n";
  const rec: EmittedRecord = { ...v2Records()[0]!, log: { ...v2Records()[0]!.log, resource: { case: "httpRequest", value: { ...(v2Records()[0]!.log.resource.value as any), url } } } as any };
  const line = formatJson(rec, identity, now);
  expect(line).toContain(String.raw`"http_url":"https://x.example/\u0085\u007f\u009b\u2028\u2029\u0000\n"`);
  expect(line).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/);
  expect(JSON.parse(line).fields.http_url).toBe(url);
});

test("rfc3339Nano equals Date's own ISO text with Go's trimmed fraction, over every valid second and nanosecond, in any order", () => {
  const second = fc.oneof(
    fc.integer({ min: -62135596800, max: 253402300799 }),
    fc.integer({ min: 1765152000 - 2, max: 1765152000 + 2 }), // around a midnight
  );
  const nanos = fc.oneof(fc.constantFrom(0, 1, 10, 100_000_000, 999_999_999, 120), fc.integer({ min: 0, max: 999_999_999 }));
  const reference = (s: number, n: number) => {
    const base = new Date(s * 1000).toISOString().slice(0, 19);
    return n === 0 ? `${base}Z` : `${base}.${String(n).padStart(9, "0").replace(/0+$/, "")}Z`;
  };
  fc.assert(
    fc.property(fc.array(fc.tuple(second, nanos), { minLength: 1, maxLength: 20 }), (times) =>
      times.every(([s, n]) => rfc3339Nano({ seconds: BigInt(s), nanos: n } as any) === reference(s, n))),
    { numRuns: 2000 },
  );
});

test("rfc3339Nano prints four-digit years, as Go does", () => {
  expect(rfc3339Nano({ seconds: -62135596800n, nanos: 0 } as any)).toBe("0001-01-01T00:00:00Z");
  expect(rfc3339Nano({ seconds: -30641760000n, nanos: 120 } as any)).toBe("0999-01-01T00:00:00.00000012Z");
  expect(rfc3339Nano({ seconds: 253402300799n, nanos: 999999999 } as any)).toBe("9999-12-31T23:59:59.999999999Z");
});
