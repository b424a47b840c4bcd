// The exec-record store contract (src/coderd/process/store.ts), run against
// SQLite (sqlite-store.contract.test.ts) and PostgreSQL
// (postgres-store.contract.test.ts): each exec stored once per (workspace,
// boot, pid, monotonic time) whatever the batches, every field read back as
// written, the list's filters, window and paging, consumers that get every
// exec at least once, oldest first, and a purge that spares what a consumer
// has not taken and the newest exec.
import { afterEach, describe, expect, test } from "bun:test";
import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import type { ExecBatchToStore, ProcessLogStore, StoredExec } from "../../../src/coderd/process/store.ts";
import { type ProcessExec, ProcessExecSchema } from "../../../src/gen/boundaryrelay/v1/process_pb.ts";
import type { AgentIdentity } from "../../../src/record/identity.ts";
import { PG_TEST_TIMEOUT_MS } from "../../helpers/postgres.ts";
import { STORE_IDENTITY } from "../helpers.ts";

const T0 = Date.parse("2025-12-08T10:00:00.000Z");
const BOOT = "86ce15cf-80a2-4b5e-831f-4743ffd37b5f";
const BOB: AgentIdentity = { ...STORE_IDENTITY, workspaceId: "bbbbbbbb-0000-4000-8000-000000000002", workspaceName: "bob-ws", ownerName: "bob" };

function exec(pid: number, argv: string[], overrides: Partial<Omit<ProcessExec, "$typeName" | "$unknown">> = {}): ProcessExec {
  return create(ProcessExecSchema, {
    time: timestampFromMs(T0 + pid * 1000),
    monotonicNs: BigInt(pid) * 1000n + 7n,
    pid, ppid: 1, uid: 1000, gid: 1000,
    filename: `/usr/bin/${argv[0]}`, argv, comm: argv[0], truncated: false, cmdline: argv.join(" "),
    ...overrides,
  });
}

const batch = (execs: ProcessExec[], identity = STORE_IDENTITY, capturedAt = T0): ExecBatchToStore => ({ identity, bootId: BOOT, capturedAt: new Date(capturedAt), execs });
const pids = (rows: StoredExec[]) => rows.map((r) => r.pid);

export interface ProcessStoreLocation {
  open(): Promise<ProcessLogStore>;
}

export function processStoreContract(name: string, fresh: () => Promise<ProcessStoreLocation>): void {
  describe(`exec store contract: ${name}`, () => {
    const opened: ProcessLogStore[] = [];
    afterEach(async () => {
      for (const s of opened.splice(0)) await s.close();
    });
    async function open(): Promise<{ s: ProcessLogStore; again: () => Promise<ProcessLogStore> }> {
      const location = await fresh();
      const s = await location.open();
      opened.push(s);
      return { s, again: async () => (opened.push(await location.open()), opened.at(-1)!) };
    }

    test("each exec is stored once per workspace, boot, pid and monotonic time, and reads back as written", async () => {
      const { s } = await open();
      const odd = exec(7, ["sh", "-c", 'echo "a b" \u2028 ünï'], { truncated: true, ppid: 0, uid: 0, gid: 4294967294, filename: "" });
      expect(await s.insertExecs(batch([exec(1, ["uname", "-a"]), odd, exec(1, ["uname", "-a"])]))).toEqual([0, 1]);
      expect(await s.insertExecs(batch([exec(7, ["sh"]), exec(8, ["true"])]))).toEqual([1]); // 7 again: a repeat
      expect(await s.insertExecs(batch([exec(1, ["uname", "-a"])], BOB))).toEqual([0]); // another workspace
      const rows = (await s.listExecs({ limit: 10 })).items;
      expect(rows.length).toBe(4);
      const read = rows.find((r) => r.pid === 7)!;
      expect(read).toMatchObject({
        workspace_id: STORE_IDENTITY.workspaceId, workspace_name: "alice-dev", owner_name: "alice", boot_id: BOOT,
        ppid: 0, uid: 0, gid: 4294967294, filename: "", argv: ["sh", "-c", 'echo "a b" \u2028 ünï'], comm: "sh", command: "sh",
        truncated: true, cmdline: 'sh -c echo "a b" \u2028 ünï', event_time: "2025-12-08T10:00:07Z", captured_at: new Date(T0).toISOString(),
      });
      expect(rows.find((r) => r.pid === 8)).toMatchObject({ truncated: false, filename: "/usr/bin/true", command: "true" });
    }, PG_TEST_TIMEOUT_MS);

    test("the list: newest first, workspace, owner and command filters, event-time window, paging that visits each once", async () => {
      const { s } = await open();
      await s.insertExecs(batch([exec(1, ["uname"]), exec(2, ["curl", "x"]), exec(3, ["uname"])]));
      await s.insertExecs(batch([exec(4, ["curl"])], BOB));
      expect(pids((await s.listExecs({ limit: 10 })).items)).toEqual([4, 3, 2, 1]);
      expect(pids((await s.listExecs({ limit: 10, workspaceId: BOB.workspaceId })).items)).toEqual([4]);
      expect(pids((await s.listExecs({ limit: 10, owner: "alice" })).items)).toEqual([3, 2, 1]);
      expect(pids((await s.listExecs({ limit: 10, command: "curl" })).items)).toEqual([4, 2]);
      expect(pids((await s.listExecs({ limit: 10, since: new Date(T0 + 2000), until: new Date(T0 + 4000) })).items)).toEqual([3, 2]);
      const seen: number[] = [];
      let page = await s.listExecs({ limit: 3 });
      for (;;) {
        seen.push(...pids(page.items));
        if (!page.next) break;
        page = await s.listExecs({ limit: 3, after: page.next });
      }
      expect(seen).toEqual([4, 3, 2, 1]);
    }, PG_TEST_TIMEOUT_MS);

    test("a consumer gets every exec at least once, oldest first; what it advanced past is not handed out again, even after a reopen", async () => {
      const { s, again } = await open();
      await s.insertExecs(batch([1, 2, 3, 4, 5].map((p) => exec(p, ["true"]))));
      expect(pids(await s.unconsumed("stderr", 3))).toEqual([1, 2, 3]);
      const taken = await s.unconsumed("stderr", 3); // not advanced: the same again
      expect(pids(taken)).toEqual([1, 2, 3]);
      await s.advanceCursor("stderr", taken.at(-1)!.id);
      await s.insertExecs(batch([exec(6, ["true"])]));
      expect(pids(await s.unconsumed("stderr", 100))).toEqual([4, 5, 6]);
      await s.close();
      opened.splice(opened.indexOf(s), 1);
      const s2 = await again();
      expect(pids(await s2.unconsumed("stderr", 100))).toEqual([4, 5, 6]);
      expect(pids(await s2.unconsumed("siem", 100))).toEqual([1, 2, 3, 4, 5, 6]); // a new consumer starts at the first
      const rest = await s2.unconsumed("stderr", 100);
      await s2.advanceCursor("stderr", rest.at(-1)!.id);
      expect(await s2.unconsumed("stderr", 100)).toEqual([]);
    }, PG_TEST_TIMEOUT_MS);

    test("the purge deletes old execs every consumer took, spares the rest and the newest", async () => {
      const { s } = await open();
      await s.insertExecs(batch([1, 2, 3, 4, 5, 6].map((p) => exec(p, ["true"]))));
      const cutoff = new Date(T0 + 1000);
      expect(await s.purgeBefore(cutoff, 100)).toBe(0); // nothing taken yet
      const three = await s.unconsumed("stderr", 3);
      await s.advanceCursor("stderr", three.at(-1)!.id);
      const first = await s.purgeBefore(cutoff, 100);
      // Below the cursor (SQLite) or below the oldest still queued (PostgreSQL): the exec at the cursor may wait.
      expect(first).toBeGreaterThanOrEqual(2);
      expect(first).toBeLessThanOrEqual(3);
      await s.advanceCursor("stderr", (await s.unconsumed("stderr", 100)).at(-1)!.id);
      expect(first + (await s.purgeBefore(cutoff, 100))).toBe(5); // all but the newest
      expect(pids((await s.listExecs({ limit: 10 })).items)).toEqual([6]);
    }, PG_TEST_TIMEOUT_MS);
  });
}
