// Agent memory with a spool backlog: writes segment files of real spool
// entries (the spool's own format.ts; each entry a 10-record request as the
// agent appends them) straight to a directory, far faster than appending
// through the agent, then starts the agent on it with coderd down (a port
// nobody listens on) and samples its RSS once it had time to open the spool
// and try to forward.
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { toBinary } from "@bufbuild/protobuf";
import { encodeEntry, SEGMENT_MAGIC, segmentFileName } from "../src/agent/spool/format.ts";
import { ReportBoundaryLogsRequestSchema } from "../src/gen/coder/agent/v2/boundary_pb.ts";
import { freePort, memory, sleep, watchMemory } from "./lib/proc.ts";
import { coderdOutputArgs, startAgent } from "./lib/stack.ts";
import { sampleRequest } from "./lib/records.ts";
import { type Figure, repeatMany } from "./lib/stats.ts";

const SEGMENT_BYTES = 16 * 2 ** 20;
const SETTLE_MS = 3000;

/** Fills `dir` with `bytes` of segment files; returns the records they hold. */
export function fillSpool(dir: string, bytes: number): number {
  mkdirSync(dir, { recursive: true });
  const parts: Uint8Array[] = [SEGMENT_MAGIC];
  let size = SEGMENT_MAGIC.length;
  let entries = 0;
  for (;;) {
    const body = toBinary(ReportBoundaryLogsRequestSchema, sampleRequestFor(entries));
    const entry = encodeEntry(body, Date.now());
    if (size + entry.length > SEGMENT_BYTES) break;
    parts.push(entry);
    size += entry.length;
    entries++;
  }
  const segment = Buffer.concat(parts);
  const segments = Math.max(1, Math.round(bytes / SEGMENT_BYTES));
  for (let id = 1; id <= segments; id++) writeFileSync(join(dir, segmentFileName(id)), segment);
  return segments * entries * 10;
}

const SESSION = "5b1f8c3e-2d4a-4e6f-9a7b-0c1d2e3f4a5b";
const sampleRequestFor = (entry: number) => sampleRequest(SESSION, entry * 10, 10);

export async function spoolBacklogBench(repeats: number, scale: number): Promise<Figure[]> {
  const backlog = scale < 1 ? 256 * 2 ** 20 : 2 ** 30;
  const mib = backlog / 2 ** 20;
  return repeatMany(
    repeats,
    { [`memory.agent_spool_backlog_rss`]: { unit: "MiB", better: "lower" }, [`memory.agent_spool_backlog_peak_rss`]: { unit: "MiB", better: "lower" } },
    async () => {
      const dir = mkdtempSync(join(tmpdir(), "bench-agent-"));
      fillSpool(join(dir, "spool"), backlog);
      const deadCoderd = `http://127.0.0.1:${await freePort()}`;
      const agent = await startAgent(coderdOutputArgs(deadCoderd, ["--spool-max-bytes", "4GiB"]), dir);
      const mem = watchMemory(agent.proc.pid);
      try {
        await sleep(SETTLE_MS);
        return { [`memory.agent_spool_backlog_rss`]: memory(agent.proc.pid).rssMiB, [`memory.agent_spool_backlog_peak_rss`]: mem.peakMiB() };
      } finally {
        mem.stop();
        await agent.close();
      }
    },
    { backlog_mib: mib, coderd: "down", settle_ms: SETTLE_MS, note: scale < 1 ? "quick: 256 MiB backlog instead of 1 GiB" : "1 GiB backlog" },
  );
}
