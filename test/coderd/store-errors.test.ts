// How the SQLite store fails and upgrades (src/coderd/store/sqlite.ts,
// migrations.ts): every failure is a StoreError with its reason, never a
// bare driver error; an old database gets the stderr cursor after the
// records it already has, so an upgrade prints no line twice.
import { afterEach, describe, expect, test } from "bun:test";
import { rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { StoreError } from "../../src/coderd/store/errors.ts";
import { openStore } from "../../src/coderd/store/open.ts";
import { openProcessLogStore } from "../../src/coderd/process/open.ts";
import { SqliteStore } from "../../src/coderd/store/sqlite.ts";
import { openSqlite } from "../../src/runtime/adapter.ts";
import { STORE_IDENTITY } from "./helpers.ts";
import { tempDir } from "../helpers/temp.ts";

let dir = "";
afterEach(() => rmSync(dir, { recursive: true, force: true }));

async function failureOf(open: () => Promise<unknown>): Promise<string> {
  try {
    await open();
  } catch (err) {
    if (err instanceof StoreError) return err.failure;
    throw err;
  }
  return "opened";
}

describe("store failures", () => {
  test("each failure to open has its reason", async () => {
    dir = tempDir("coderd-store-").dir;
    writeFileSync(join(dir, "afile"), "");
    writeFileSync(join(dir, "garbage.db"), "this is not an SQLite database, not at all. ".repeat(200));
    expect(await failureOf(() => SqliteStore.open("/proc/x/y.db"))).toBe("bad_location");
    expect(await failureOf(() => SqliteStore.open(join(dir, "afile", "y.db")))).toBe("bad_location");
    expect(await failureOf(() => SqliteStore.open(dir))).toBe("bad_location");
    expect(await failureOf(() => SqliteStore.open(join(dir, "garbage.db")))).toBe("corrupt");
    expect(await failureOf(() => openStore("mysql://u@h/db"))).toBe("bad_location"); // no such store
    expect(await failureOf(() => openStore("postgres://u@no-such-host.invalid/db"))).toBe("unreachable"); // may come back
    // The exec-record store refuses a --db it cannot open the same way (a StoreError, not the CLI's ConfigError).
    expect(await failureOf(() => openProcessLogStore("mysql://u@h/db"))).toBe("bad_location");
    const newer = await openSqlite(join(dir, "newer.db"));
    newer.exec("PRAGMA user_version = 99");
    newer.close();
    expect(await failureOf(() => SqliteStore.open(join(dir, "newer.db")))).toBe("schema_newer");
  });

  test("a new database and the directory made for it are the owner's only", async () => {
    dir = tempDir("coderd-store-").dir;
    const store = await SqliteStore.open(join(dir, "sub", "c.db"));
    await store.close();
    expect((statSync(join(dir, "sub", "c.db")).mode & 0o777).toString(8)).toBe("600");
    expect((statSync(join(dir, "sub")).mode & 0o777).toString(8)).toBe("700");
  });

  test("upgrading a database from before the cursors owes no line for the records it holds", async () => {
    dir = tempDir("coderd-store-").dir;
    const path = join(dir, "old.db");
    let store = await SqliteStore.open(path);
    const identity = STORE_IDENTITY;
    const rec = { sequenceNumber: 0, allowed: true, httpMethod: "GET", httpUrl: "https://a/", httpHost: "a", matchedRule: "", eventTime: "2025-12-08T20:58:47Z" };
    await store.insertBatch({ identity, sessionId: "", deduplicate: false, confinedProcessName: "c", capturedAt: new Date(), records: [rec, rec] });
    await store.close();
    // Back to schema version 1, as the previous release left it.
    const raw = await openSqlite(path);
    raw.exec(
      "DROP TRIGGER boundary_rollup_hourly_delete; DROP TABLE boundary_rollup_hourly; " +
        "DROP TABLE consumer_cursors; DROP TABLE process_consumer_cursors; DROP TABLE process_logs; DROP INDEX boundary_logs_host_captured; " +
        "DROP INDEX boundary_logs_captured_cover; DROP INDEX boundary_sessions_agent; PRAGMA user_version = 1",
    );
    raw.close();
    store = await SqliteStore.open(path);
    expect(await store.unconsumed("stderr", 10)).toEqual([]);
    await store.insertBatch({ identity, sessionId: "", deduplicate: false, confinedProcessName: "c", capturedAt: new Date(), records: [rec] });
    expect((await store.unconsumed("stderr", 10)).length).toBe(1);
    await store.close();
  });
});
