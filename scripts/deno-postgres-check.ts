// The PostgreSQL store under whatever runtime runs this (the Deno smoke step
// runs it under Deno): a throw-away cluster (test/helpers/postgres.ts), a
// batch stored twice and kept once, the consumer queue, the query side, and
// a clean close. Exits 1 with the reason on any mismatch.
import { PostgresStore } from "../src/coderd/store/postgres.ts";
import { freshDatabase, pgCluster } from "../test/helpers/postgres.ts";

function check(what: string, ok: boolean): void {
  if (!ok) throw new Error(`postgres check failed: ${what}`);
}

const runtime = "Deno" in globalThis ? "deno" : "bun";
const store = await PostgresStore.open(await freshDatabase("deno"));
try {
  const batch = {
    identity: { agentId: "a", agentName: "main", workspaceId: "w", workspaceName: "ws", ownerId: "o", ownerName: "owner", templateId: "t", templateVersionId: "v" },
    sessionId: "80000000-0000-4000-8000-000000000001", deduplicate: true, confinedProcessName: "claude", capturedAt: new Date(),
    records: [0, 1, 2].map((i) => ({
      sequenceNumber: i, allowed: i > 0, httpMethod: "GET", httpUrl: `https://x.example/${i}`, httpHost: "x.example", matchedRule: "", eventTime: "2025-12-08T20:58:47.000000005Z",
    })),
  };
  check("first insert stores 3", (await store.insertBatch(batch)).stored.length === 3);
  check("second insert stores none", (await store.insertBatch(batch)).duplicates === 3);
  const queued = await store.unconsumed("stderr", 10);
  check("3 queued for stderr", queued.length === 3);
  await store.advanceCursor("stderr", queued.at(-1)!.id);
  check("none queued after advancing", (await store.unconsumed("stderr", 10)).length === 0);
  const stats = await store.workspaceStats({});
  check("stats 2 allowed, 1 denied", stats[0]?.allowed === 2 && stats[0]?.denied === 1);
  await store.ping();
} finally {
  await store.close();
}
pgCluster().stop();
console.log(`postgres store under ${runtime}: stored once, queued, counted, closed`);
process.exit(0);
