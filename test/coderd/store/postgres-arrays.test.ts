// Array parameters (src/coderd/store/postgres-pools.ts, pgParam): the
// PostgreSQL stores send every batch's columns as array literals written
// here, not by the driver's fetched types (a pool whose type fetch was cut
// sent "1,2,3", refused as a malformed array literal). Text that array
// literals treat specially must arrive as it was sent.
import { afterAll, describe, expect, test } from "bun:test";
import { pgParam } from "../../../src/coderd/store/postgres-pools.ts";
import { PostgresStore } from "../../../src/coderd/store/postgres.ts";
import { freshDatabase, PG_TEST_TIMEOUT_MS, postgresAvailable } from "../../helpers/postgres.ts";
import { newRecords, STORE_IDENTITY } from "../helpers.ts";

describe("pgParam", () => {
  test("arrays become literals with every element quoted and escaped, null as NULL; other values stay", () => {
    expect(pgParam([1, 2n, "a"])).toBe('{"1","2","a"}');
    expect(pgParam(['say "hi"', "back\\slash", "{,}", "NULL", null, undefined])).toBe('{"say \\"hi\\"","back\\\\slash","{,}","NULL",NULL,NULL}');
    expect(pgParam([])).toBe("{}");
    expect(pgParam("1,2")).toBe("1,2");
    expect(pgParam(7)).toBe(7);
    expect(pgParam(null)).toBeNull();
  });
});

const HOSTILE = ['https://q.example/"quoted"', "https://b.example/back\\slash\\", "https://c.example/{braces},commas", "NULL", "https://u.example/é ü 日本", " spaced "];

describe.skipIf(!postgresAvailable())("PostgreSQL array parameters", () => {
  const opened: PostgresStore[] = [];
  afterAll(async () => {
    for (const s of opened) await s.close();
  });

  test("URLs, rules and methods that array literals treat specially are stored and read back unchanged", async () => {
    const store = await PostgresStore.open(await freshDatabase("arrays"));
    opened.push(store);
    const records = newRecords(0, HOSTILE.length).map((r, i) => ({ ...r, httpUrl: HOSTILE[i]!, matchedRule: HOSTILE.at(-1 - i)!, httpMethod: i % 2 ? "NULL" : "GET" }));
    const written = await store.insertBatch({
      identity: STORE_IDENTITY, sessionId: "71000000-0000-4000-8000-000000000001", deduplicate: true, confinedProcessName: 'c "1"', capturedAt: new Date(), records,
    });
    expect(written.stored).toHaveLength(HOSTILE.length);
    const back = (await store.searchLogs({ limit: 100 })).items.sort((a, b) => a.sequence_number - b.sequence_number);
    expect(back.map((r) => [r.http_url, r.matched_rule, r.http_method])).toEqual(records.map((r) => [r.httpUrl, r.matchedRule, r.httpMethod]));
    const lines = await store.unconsumed("stderr", 100); // the consumer queue's claims: bigint[] parameters
    expect(lines.map((r) => r.http_url).sort()).toEqual([...HOSTILE].sort());
  }, PG_TEST_TIMEOUT_MS);
});
