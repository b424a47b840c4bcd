// `coderd --db postgres://…` at start (issue #14): a wrong password or a
// missing database is a configuration error naming `db` (exit 2), a
// PostgreSQL that does not answer is exit 1, and the password is never
// printed (errors, the listening line, config check). The PG* environment
// variables fill what the URL leaves out. Runs the source, or the compiled
// binary named by BOUNDARY_RELAY_BIN (.ci/run does both).
import { describe, expect, test } from "bun:test";
import { runCli, startCli } from "../helpers/cli.ts";
import { freshDatabase, PG_PASSWORD, PG_TEST_TIMEOUT_MS, PG_USER, pgCluster, postgresAvailable } from "../helpers/postgres.ts";
import { until } from "../helpers/until.ts";
import { freePort } from "../helpers/ports.ts";

const coderd = (db: string, env: Record<string, string> = {}) =>
  runCli(["coderd", "--db", db, "--http-listen", "127.0.0.1:0"], env);

describe.skipIf(!postgresAvailable())("coderd --db postgres:// at start", () => {
  test("a missing database: exit 2 naming db, password redacted", async () => {
    const r = await coderd(pgCluster().url("no_such_database"));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("db (from --db)");
    expect(r.stderr).toContain('database "no_such_database" does not exist');
    expect(r.stderr).toContain("[redacted]");
    expect(r.stderr).not.toContain(PG_PASSWORD);
  }, PG_TEST_TIMEOUT_MS);

  test("a wrong password: exit 2 naming db, neither password printed", async () => {
    const db = await freshDatabase("cli");
    const wrong = "wrong-password-4711";
    const r = await coderd(db.replace(encodeURIComponent(PG_PASSWORD), wrong));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("db (from --db)");
    expect(r.stderr).toContain("password authentication failed");
    expect(r.stderr).not.toContain(wrong);
    expect(r.stderr).not.toContain(PG_PASSWORD);
  }, PG_TEST_TIMEOUT_MS);

  test("nothing listening: exit 1 with the reason, password redacted", async () => {
    const port = await freePort();
    const r = await coderd(`postgres://${PG_USER}:${PG_PASSWORD}@127.0.0.1:${port}/x`);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`postgres://${PG_USER}:[redacted]@127.0.0.1:${port}/x`);
    expect(r.stderr).not.toContain(PG_PASSWORD);
  }, PG_TEST_TIMEOUT_MS);

  test("config check prints the URL with its password redacted", async () => {
    const r = await runCli(["config", "check", "--role", "coderd", "--db", await freshDatabase("cli")]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/db: "postgres:\/\/relay:\[redacted\]@127\.0\.0\.1:\d+\/cli_\d+_\d+"/);
    expect(r.stdout + r.stderr).not.toContain(PG_PASSWORD);
  }, PG_TEST_TIMEOUT_MS);

  test("postgres:// with PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE: starts, ready, stops cleanly", async () => {
    const db = new URL(await freshDatabase("cli"));
    const child = startCli(["coderd", "--db", "postgres://", "--http-listen", "127.0.0.1:0"], {
      PGHOST: "127.0.0.1", PGPORT: db.port, PGUSER: PG_USER, PGPASSWORD: PG_PASSWORD, PGDATABASE: db.pathname.slice(1),
    });
    try {
      const url = await until(() => /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(child.stderr())?.[1] ?? (child.proc.exitCode !== null ? `exit ${child.proc.exitCode}: ${child.stderr()}` : null), { timeoutMs: 30_000, what: "coderd to listen" });
      expect(url).toStartWith("http://");
      expect((await fetch(`${url}/readyz`)).status).toBe(200);
    } finally {
      child.kill("SIGTERM");
    }
    expect(await child.exited).toBe(0);
    expect(child.stderr()).not.toContain(PG_PASSWORD);
  }, PG_TEST_TIMEOUT_MS);
});
