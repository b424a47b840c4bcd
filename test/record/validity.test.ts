import { describe, expect, test } from "bun:test";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import fc from "fast-check";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  BoundaryLogSchema,
  BoundaryLog_HttpRequestSchema,
  type ReportBoundaryLogsRequest,
  ReportBoundaryLogsRequestSchema,
} from "../../src/gen/coder/agent/v2/boundary_pb.ts";
import {
  checkEncodedRequest,
  checkRequest,
  describeInvalid,
  FIELD_LIMITS,
  isUtf8,
  MAX_EVENT_SECONDS,
  MIN_EVENT_SECONDS,
} from "../../src/record/validity.ts";

const hex = (s: string) => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ""), "hex"));
const cat = (...parts: (Uint8Array | string)[]) =>
  Buffer.concat(parts.map((p) => (typeof p === "string" ? Buffer.from(p, "latin1") : Buffer.from(p))));

interface LogSpec {
  seconds?: bigint;
  nanos?: number;
  method?: string;
  url?: string;
  rule?: string;
  noTime?: boolean;
}

function request(logs: LogSpec[], sessionId = "8f7c2a4e-3b1d-4c5e-9f60-1a2b3c4d5e6f", process = "claude"): ReportBoundaryLogsRequest {
  return create(ReportBoundaryLogsRequestSchema, {
    sessionId,
    confinedProcessName: process,
    logs: logs.map((l, i) =>
      create(BoundaryLogSchema, {
        allowed: true,
        sequenceNumber: i,
        time: l.noTime ? undefined : { seconds: l.seconds ?? 1765227526n, nanos: l.nanos ?? 93_000_000 },
        resource: {
          case: "httpRequest",
          value: create(BoundaryLog_HttpRequestSchema, {
            method: l.method ?? "GET",
            url: l.url ?? "https://github.com/coder/boundary",
            matchedRule: l.rule ?? "domain=github.com",
          }),
        },
      }),
    ),
  });
}

const encode = (req: ReportBoundaryLogsRequest) => toBinary(ReportBoundaryLogsRequestSchema, req);

/** Both entry points, with the encoded one's result first. */
function both(req: ReportBoundaryLogsRequest) {
  return { encoded: checkEncodedRequest(encode(req)), decoded: checkRequest(req) };
}

describe("valid requests", () => {
  test("an ordinary request passes both checks", () => {
    expect(both(request([{}, {}, {}]))).toEqual({ encoded: null, decoded: null });
  });

  test("a record without a time is valid (the epoch)", () => {
    expect(both(request([{ noTime: true }]))).toEqual({ encoded: null, decoded: null });
  });

  test("the time range's ends and the caps themselves are valid", () => {
    const req = request([
      { seconds: BigInt(MIN_EVENT_SECONDS), nanos: 0 },
      { seconds: BigInt(MAX_EVENT_SECONDS), nanos: 999_999_999 },
      { url: `https://x/${"a".repeat(FIELD_LIMITS.http_url - 10)}`, method: "M".repeat(FIELD_LIMITS.http_method), rule: "r".repeat(FIELD_LIMITS.matched_rule) },
    ]);
    expect(both(req)).toEqual({ encoded: null, decoded: null });
  });

  test("unknown well-formed fields are skipped at every level", () => {
    // request field 9 (varint), log field 7 (fixed32), time field 5 (fixed64), http field 8 (bytes)
    const time = cat(hex("08 01"), hex("29 0102030405060708"));
    const http = cat(hex("0a03"), "GET", hex("4202"), "hi");
    const log = cat(hex("3d 01020304"), hex("12"), Uint8Array.of(time.length), time, hex("1a"), Uint8Array.of(http.length), http, hex("2001"));
    const bytes = cat(hex("4801 0a"), Uint8Array.of(log.length), log);
    expect(checkEncodedRequest(bytes)).toBeNull();
    expect(() => fromBinary(ReportBoundaryLogsRequestSchema, bytes)).not.toThrow();
  });

  test("the requests of every valid shared vector pass", () => {
    const dir = join(import.meta.dir, "..", "vectors");
    const v1 = new Uint8Array(readFileSync(join(dir, "v1_single.bin"))).subarray(4);
    const v1max = new Uint8Array(readFileSync(join(dir, "v1_max_size.bin"))).subarray(4);
    expect(checkEncodedRequest(v1)).toBeNull();
    expect(checkEncodedRequest(v1max)).toBeNull();
  });
});

describe("malformed protobuf", () => {
  test("the shared bad_nested_overrun vector: time claims 5 bytes, 2 remain in its record", () => {
    const payload = hex(
      "0a21 1a1b0a034745541214" + Buffer.from("https://example.com/").toString("hex") + "12050801" +
        "1a0178 1224" + Buffer.from("11111111-2222-4333-8444-555555555550").toString("hex"),
    );
    const fault = checkEncodedRequest(payload);
    expect(fault).toEqual({ kind: "malformed_protobuf", field: "logs[0].time", problem: "claims 5 bytes while 2 remain in its message" });
    expect(describeInvalid(fault!)).toBe("logs[0].time: claims 5 bytes while 2 remain in its message");
  });

  test("the issue's four poison frames are each refused", () => {
    for (let i = 0; i < 4; i++) {
      const rec = cat(hex("1a1b0a034745541214"), "https://example.com/", hex("12050801"));
      const payload = cat(hex("0a21"), rec, hex("1a0178 1224"), `11111111-2222-4333-8444-55555555555${i}`);
      expect(checkEncodedRequest(payload)?.kind).toBe("malformed_protobuf");
    }
  });

  const cases: [string, string, string][] = [
    ["a group field", "4b", "field 9"],
    ["field number 0", "0001", ""],
    ["a varint of 11 bytes", "48 ffffffffffffffffffff01", "field 9"],
    ["a varint cut off at the end", "48 ff", "field 9"],
    ["a length past the end", "12 05 6162", "session_id"],
    ["session_id sent as a varint", "10 05", "session_id"],
    ["a log sent as fixed32", "0d 01020304", "logs[0]"],
    ["seconds sent as bytes", "0a04 1202 0a00", "logs[0].time.seconds"],
    ["a fixed64 with 3 bytes left", "0a05 1a03 49 0102", "logs[0].http_request.field 9"],
  ];
  for (const [name, bytes, field] of cases) {
    test(`${name} is malformed at ${field || "the request"}`, () => {
      const fault = checkEncodedRequest(hex(bytes));
      expect(fault?.kind).toBe("malformed_protobuf");
      expect(fault?.field).toBe(field);
    });
  }
});

describe("invalid values", () => {
  const valueCases: [string, LogSpec, string][] = [
    ["nanos of 1e9", { nanos: 1_000_000_000 }, "logs[0].time.nanos"],
    ["negative nanos", { nanos: -5 }, "logs[0].time.nanos"],
    ["year 10000", { seconds: BigInt(MAX_EVENT_SECONDS) + 1n }, "logs[0].time.seconds"],
    ["year 0", { seconds: BigInt(MIN_EVENT_SECONDS) - 1n }, "logs[0].time.seconds"],
    ["a URL over its cap", { url: `https://x/${"a".repeat(FIELD_LIMITS.http_url)}` }, "logs[0].http_request.url"],
    ["a method over its cap", { method: "M".repeat(FIELD_LIMITS.http_method + 1) }, "logs[0].http_request.method"],
    ["a matched rule over its cap", { rule: "é".repeat(FIELD_LIMITS.matched_rule / 2 + 1) }, "logs[0].http_request.matched_rule"],
  ];
  for (const [name, spec, field] of valueCases) {
    test(`${name} is refused at ${field}, by both checks alike`, () => {
      const { encoded, decoded } = both(request([spec]));
      expect(encoded?.kind).toBe("invalid_value");
      expect(encoded?.field).toBe(field);
      expect(decoded).toEqual(encoded);
    });
  }

  test("the path names the record's index", () => {
    expect(both(request([{}, {}, { nanos: -1 }])).encoded?.field).toBe("logs[2].time.nanos");
  });

  test("session_id and confined_process_name have caps", () => {
    expect(both(request([{}], "s".repeat(FIELD_LIMITS.session_id + 1))).encoded?.field).toBe("session_id");
    expect(both(request([{}], "s", "p".repeat(FIELD_LIMITS.confined_process_name + 1))).decoded?.field).toBe("confined_process_name");
  });

  test("a URL that is not UTF-8 is refused (bytes) and a lone surrogate too (decoded)", () => {
    const url = cat("https://x/", hex("ff"));
    const bytes = cat(hex("0a"), Uint8Array.of(url.length + 4), hex("1a"), Uint8Array.of(url.length + 2), hex("12"), Uint8Array.of(url.length), url);
    expect(checkEncodedRequest(bytes)).toEqual({ kind: "invalid_value", field: "logs[0].http_request.url", problem: "is not valid UTF-8" });
    expect(checkRequest(request([{ url: "https://x/\ud800" }]))?.field).toBe("logs[0].http_request.url");
  });
});

describe("isUtf8", () => {
  const ok = (h: string) => isUtf8(hex(h), 0, hex(h).length);
  test("accepts ASCII, 2-, 3- and 4-byte forms", () => {
    expect(ok(Buffer.from("aé€😀").toString("hex"))).toBe(true);
  });
  test("refuses overlong forms, surrogates, values over U+10FFFF, stray and cut-off bytes", () => {
    for (const bad of ["c0af", "e080af", "f08080af", "eda080", "f4908080", "80", "e282", "ff"]) expect(ok(bad)).toBe(false);
  });
  test("agrees with a fatal TextDecoder on random bytes", () => {
    const strict = new TextDecoder("utf-8", { fatal: true });
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 12 }), (bytes) => {
        let expected = true;
        try {
          strict.decode(bytes);
        } catch {
          expected = false;
        }
        expect(isUtf8(bytes, 0, bytes.length)).toBe(expected);
      }),
      { numRuns: 20_000 },
    );
  });
});

describe("properties", () => {
  const logSpec = fc.record({
    seconds: fc.bigInt(BigInt(MIN_EVENT_SECONDS), BigInt(MAX_EVENT_SECONDS)),
    nanos: fc.integer({ min: 0, max: 999_999_999 }),
    method: fc.string({ maxLength: 8 }),
    url: fc.string({ unit: "binary", maxLength: 200 }),
    rule: fc.string({ maxLength: 40 }),
  });

  test("any request with in-range values passes both checks", () => {
    fc.assert(
      fc.property(fc.array(logSpec, { maxLength: 10 }), fc.uuid(), (logs, session) => {
        expect(both(request(logs, session))).toEqual({ encoded: null, decoded: null });
      }),
      { numRuns: 2_000 },
    );
  });

  test("whatever the scan accepts, protobuf-es parses and the decoded check accepts", () => {
    const base = encode(request([{}, { url: "https://pastebin.com/x" }]));
    fc.assert(
      fc.property(
        fc.array(fc.record({ at: fc.nat(base.length - 1), value: fc.integer({ min: 0, max: 255 }) }), { minLength: 1, maxLength: 4 }),
        fc.nat(base.length),
        (edits, cut) => {
          const bytes = base.slice(0, Math.max(cut, 1));
          for (const { at, value } of edits) if (at < bytes.length) bytes[at] = value;
          if (checkEncodedRequest(bytes) !== null) return;
          const parsed = fromBinary(ReportBoundaryLogsRequestSchema, bytes);
          expect(checkRequest(parsed)).toBeNull();
        },
      ),
      { numRuns: 20_000 },
    );
  });

  test("concatenated valid requests (as the forwarder coalesces them) stay valid", () => {
    const a = encode(request([{}, {}]));
    const b = encode(request([{ url: "https://example.com/" }]));
    const joined = cat(a, b);
    expect(checkEncodedRequest(joined)).toBeNull();
    expect(fromBinary(ReportBoundaryLogsRequestSchema, joined).logs.length).toBe(3);
  });

  test("a valid scan allocates no fault and keeps the time a timestamp conversion would give", () => {
    const req = request([{ seconds: BigInt(Math.floor(Date.UTC(1, 0, 1) / 1000)) }]);
    expect(checkEncodedRequest(encode(req))).toBeNull();
    expect(timestampFromMs(Date.UTC(9999, 11, 31, 23, 59, 59)).seconds).toBe(BigInt(MAX_EVENT_SECONDS));
  });
});
