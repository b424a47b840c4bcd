// What several coderd replicas on one PostgreSQL rely on, beyond the Store
// contract (contract.ts): migrations that several stores run at once, a
// database newer than the binary refused, the same batch stored by two
// replicas at once kept once, consumers' claims that a dead replica's lease
// gives up to another, retention on one replica at a time that never takes
// a session a batch is writing to, and a database of an earlier schema
// version carried forward with its data.
import { afterEach, describe, expect, test } from "bun:test";
import postgres from "postgres";
import { StoreError } from "../../../src/coderd/store/errors.ts";
import { PG_MIGRATIONS } from "../../../src/coderd/store/postgres-migrations.ts";
import { PostgresStore, RETENTION_LOCK } from "../../../src/coderd/store/postgres.ts";
import type { NewBatch } from "../../../src/coderd/store/store.ts";
import { freshDatabase, PG_TEST_TIMEOUT_MS, postgresAvailable } from "../../helpers/postgres.ts";
import { until } from "../../helpers/until.ts";
import { newRecords, STORE_IDENTITY } from "../helpers.ts";

const T0 = Date.parse("2025-12-08T10:00:00.000Z");
const batchOf = (session: string, from: number, n: number): NewBatch => ({
  identity: STORE_IDENTITY, sessionId: session, deduplicate: true, confinedProcessName: "c", capturedAt: new Date(T0), records: newRecords(from, n),
});
const session = (i: number) => `70000000-0000-4000-8000-${String(i).padStart(12, "0")}`;

const open: PostgresStore[] = [];
afterEach(async () => {
  for (const s of open.splice(0)) await s.close();
});
async function store(db: string, opts = {}): Promise<PostgresStore> {
  const s = await PostgresStore.open(db, opts);
  open.push(s);
  return s;
}

describe.skipIf(!postgresAvailable())("PostgreSQL store shared by replicas", () => {
  test("three replicas migrating at once all start; a database newer than the binary is refused", async () => {
    const db = await freshDatabase("repl");
    await Promise.all([store(db), store(db), store(db)]);
    const sql = postgres(db, { max: 1, onnotice: () => {} });
    try {
      await sql`UPDATE boundary_relay_schema SET version = 99`;
    } finally {
      await sql.end({ timeout: 1 });
    }
    const refused = await PostgresStore.open(db).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(StoreError);
    expect((refused as StoreError).failure).toBe("schema_newer");
    expect((refused as StoreError).message).toContain("database schema version 99 is newer than this boundary-relay");
  }, PG_TEST_TIMEOUT_MS);

  test("a version-1 database keeps its queued records and its de-duplication through migration 2", async () => {
    const db = await freshDatabase("repl");
    const sql = postgres(db, { max: 1, onnotice: () => {} });
    try {
      // What a boundary-relay of schema version 1 left behind: one keyed and
      // one unkeyed session, two records each, the stderr consumer having
      // taken the first keyed record only.
      await sql.unsafe(PG_MIGRATIONS[0]!);
      await sql`CREATE TABLE boundary_relay_schema (version integer NOT NULL)`;
      await sql`INSERT INTO boundary_relay_schema VALUES (1)`;
      await sql.unsafe(`
        INSERT INTO boundary_sessions (id, session_id, keyed, agent_id, agent_name, workspace_id, workspace_name, owner_id, owner_name,
          template_id, template_version_id, confined_process_name, started_at, updated_at)
        VALUES (1, '${session(1)}', true, '${STORE_IDENTITY.agentId}', 'a', '${STORE_IDENTITY.workspaceId}', 'w', 'o', 'o', 't', 'v', 'c', ${T0}, ${T0}),
               (2, 'not-a-uuid', false, '${STORE_IDENTITY.agentId}', 'a', '${STORE_IDENTITY.workspaceId}', 'w', 'o', 'o', 't', 'v', 'c', ${T0}, ${T0});
        SELECT setval('boundary_sessions_id_seq', 2);
        INSERT INTO boundary_logs (session_ref, dedup, sequence_number, allowed, http_method, http_url, http_host, matched_rule, event_time, captured_at)
        VALUES (1, true, 0, 1, 'GET', 'https://s.example/0', 's.example', '', '2025-12-08T10:00:00Z', ${T0}),
               (1, true, 1, 1, 'GET', 'https://s.example/1', 's.example', '', '2025-12-08T10:00:00Z', ${T0}),
               (2, false, 5, 1, 'GET', 'https://u.example/5', 'u.example', '', '2025-12-08T10:00:00Z', ${T0}),
               (2, false, 5, 0, 'GET', 'https://u.example/5', 'u.example', '', '2025-12-08T10:00:00Z', ${T0});
        INSERT INTO consumer_queue (consumer, log_id) SELECT 'stderr', id FROM boundary_logs WHERE id > 1;`);
    } finally {
      await sql.end({ timeout: 1 });
    }
    const s = await store(db);
    expect((await s.unconsumed("stderr", 100)).map((r) => r.http_url)).toEqual(["https://s.example/1", "https://u.example/5", "https://u.example/5"]);
    // The keyed session's records are still duplicates; an unkeyed session's never are.
    expect((await s.insertBatch(batchOf(session(1), 0, 3))).stored).toEqual([2]);
    const unkeyed = { ...batchOf("not-a-uuid", 5, 1), deduplicate: false };
    expect((await s.insertBatch(unkeyed)).stored).toEqual([0]);
    expect((await s.searchLogs({ limit: 100 })).items.length).toBe(6);
  }, PG_TEST_TIMEOUT_MS);

  test("the same batches sent to two replicas at once are stored once", async () => {
    const db = await freshDatabase("repl");
    const [a, b] = await Promise.all([store(db), store(db)]);
    let stored = 0;
    for (let round = 0; round < 20; round++) {
      const batch = batchOf(session(round % 3), round * 50, 100); // overlapping halves too
      const results = await Promise.all([a!.insertBatch(batch), b!.insertBatch(batch)]);
      stored += results.reduce((n, r) => n + r.stored.length, 0);
    }
    const rows = (await a!.searchLogs({ limit: 10_000 })).items;
    expect(rows.length).toBe(stored);
    expect(new Set(rows.map((r) => `${r.session_id}/${r.sequence_number}`)).size).toBe(rows.length);
  }, PG_TEST_TIMEOUT_MS);

  test("replicas split a consumer's records; a dead replica's claims go to another when its lease runs out", async () => {
    const db = await freshDatabase("repl");
    const a = await store(db, { claimLeaseS: 1 });
    const b = await store(db, { claimLeaseS: 1 });
    await a.insertBatch(batchOf(session(1), 0, 10));
    const takenByA = await a.unconsumed("stderr", 4);
    const takenByB = await b.unconsumed("stderr", 100);
    expect(takenByA.map((r) => r.sequence_number)).toEqual([0, 1, 2, 3]);
    expect(takenByB.map((r) => r.sequence_number)).toEqual([4, 5, 6, 7, 8, 9]);
    await b.advanceCursor("stderr", takenByB.at(-1)!.id);
    // A "dies" without advancing: after its lease, B takes A's records.
    expect(await b.unconsumed("stderr", 100)).toEqual([]);
    await new Promise((r) => setTimeout(r, 1500));
    expect((await b.unconsumed("stderr", 100)).map((r) => r.sequence_number)).toEqual([0, 1, 2, 3]);
  }, PG_TEST_TIMEOUT_MS);

  test("three replicas claiming at once, splitting entries, hand out every record and each once", async () => {
    // A claim that splits an entry another replica has just split (its
    // snapshot older than that commit) once handed out the other's part
    // again and dropped ids from the entry, never to be handed out: seen as
    // duplicate and missing lines in the replicas e2e test.
    const db = await freshDatabase("repl");
    const writer = await store(db);
    const replicas = await Promise.all([store(db), store(db), store(db)]);
    const BATCHES = 400;
    let inserted = 0;
    const insert = (async () => {
      for (let i = 0; i < BATCHES; i++) {
        await writer.insertBatch(batchOf(session(100 + (i % 7)), Math.floor(i / 7) * 100, 20 + (i % 41)));
        inserted++;
      }
    })();
    const handedOut = new Map<number, number>();
    const consume = async (s: PostgresStore, limit: number) => {
      for (let idle = 0; idle < 20; ) {
        const taken = await s.unconsumed("stderr", limit);
        for (const r of taken) handedOut.set(r.id, (handedOut.get(r.id) ?? 0) + 1);
        if (taken.length > 0) await s.advanceCursor("stderr", taken.at(-1)!.id);
        idle = taken.length === 0 && inserted === BATCHES ? idle + 1 : 0;
      }
    };
    await Promise.all([insert, consume(replicas[0]!, 17), consume(replicas[1]!, 29), consume(replicas[2]!, 43)]);
    const sql = postgres(db, { max: 1, onnotice: () => {} });
    try {
      const ids = (await sql<{ id: string }[]>`SELECT id FROM boundary_logs ORDER BY id`).map((r) => Number(r.id));
      expect(ids.length).toBeGreaterThan(BATCHES * 20);
      expect({ missing: ids.filter((id) => !handedOut.has(id)), twice: [...handedOut].filter(([, n]) => n > 1).map(([id]) => id) })
        .toEqual({ missing: [], twice: [] });
    } finally {
      await sql.end({ timeout: 1 });
    }
  }, PG_TEST_TIMEOUT_MS);

  test("retention runs on one replica at a time: while another holds the purge lock, a purge does nothing", async () => {
    const db = await freshDatabase("repl");
    const a = await store(db);
    await a.insertBatch(batchOf(session(2), 0, 10));
    await a.advanceCursor("stderr", (await a.unconsumed("stderr", 100)).at(-1)!.id);
    const other = postgres(db, { max: 1, onnotice: () => {} });
    let release = () => {};
    const held = new Promise<void>((r) => (release = r));
    let locked = () => {};
    const isLocked = new Promise<void>((r) => (locked = r));
    const holder = other.begin(async (tx) => {
      await tx`SELECT pg_advisory_xact_lock(${RETENTION_LOCK}::bigint)`;
      locked();
      await held;
    });
    try {
      await isLocked;
      expect(await a.purgeBefore(new Date(T0 + 1000), 100)).toBe(0);
    } finally {
      release();
      await holder;
      await other.end({ timeout: 1 });
    }
    expect(await a.purgeBefore(new Date(T0 + 1000), 100)).toBe(9); // all but the newest
  }, PG_TEST_TIMEOUT_MS);

  test("a purge never deletes a session that a batch upserts meanwhile: its new records keep their session", async () => {
    const db = await freshDatabase("repl");
    const a = await store(db);
    await a.insertBatch(batchOf(session(3), 0, 10)); // old, idle: the purge's to take
    await a.insertBatch({ ...batchOf(session(4), 0, 1), capturedAt: new Date(T0 + 5000) }); // the newest, kept
    await a.advanceCursor("stderr", (await a.unconsumed("stderr", 100)).at(-1)!.id);
    const writer = postgres(db, { max: 1, onnotice: () => {} });
    const watcher = postgres(db, { max: 1, onnotice: () => {} });
    try {
      let commit = () => {};
      const committing = new Promise<void>((r) => (commit = r));
      let upserted = () => {};
      const isUpserted = new Promise<void>((r) => (upserted = r));
      // A batch for session 3 in flight, as insertBatch writes it: the session
      // row upserted (and so locked) first, its record after.
      const batch = writer.begin(async (tx) => {
        const [s] = await tx`UPDATE boundary_sessions SET updated_at = ${T0 + 10_000} WHERE session_id = ${session(3)} RETURNING id`;
        upserted();
        await committing;
        await tx`
          INSERT INTO boundary_logs (session_ref, dedup, copy, sequence_number, allowed, http_method, http_url, http_host, matched_rule, event_time, captured_at)
          VALUES (${s!.id}, true, 0, 10, 1, 'GET', 'https://late.example/', 'late.example', '', '2025-12-08T10:00:10Z', ${T0 + 10_000})`;
      });
      await isUpserted;
      const purge = a.purgeBefore(new Date(T0 + 1000), 100);
      await until(async () => (await watcher`
        SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%DELETE FROM boundary_sessions%'`).length > 0);
      commit();
      await batch;
      expect(await purge).toBe(10); // session 3's old records
    } finally {
      await writer.end({ timeout: 1 });
      await watcher.end({ timeout: 1 });
    }
    const rows = (await a.searchLogs({ limit: 100 })).items;
    expect(rows.map((r) => r.http_url).sort()).toEqual(["https://late.example/", "https://s.example/0"]);
    expect(rows.find((r) => r.http_url === "https://late.example/")!.session_id).toBe(session(3));
  }, PG_TEST_TIMEOUT_MS);
});
