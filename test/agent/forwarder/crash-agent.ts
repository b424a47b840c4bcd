// Child process for the crash test: a coderd output writing N batches of 5
// records of session "crash". It writes the first half, says "half", waits
// for SIGUSR2, writes the rest, says "written N" and kills itself with
// SIGKILL: no close, nothing flushed beyond what the spool did.
import { CoderdOutput } from "../../../src/agent/outputs/coderd.ts";
import { makeRequest, newMetrics } from "../spool/helpers.ts";
import { TEST_TOKEN } from "./ingest-server.ts";
import { queuedBatch } from "../../helpers/agent.ts";

const [dir, url, countText] = process.argv.slice(2) as [string, string, string];
const count = Number(countText);
const out = await CoderdOutput.open(
  {
    coderd_url: url, agent_token: TEST_TOKEN, ca_file: "", spool_dir: dir,
    spool_max_bytes: 64 << 20, spool_segment_bytes: 16 << 10, spool_fsync: "interval", spool_fsync_interval: 5,
    batch_max_records: 100, batch_max_bytes: 1 << 20, batch_delay: 10, max_in_flight: 2, retry_initial: 20, retry_max: 200,
  },
  newMetrics(),
  () => {},
);
const write = (i: number) => out.write(queuedBatch(makeRequest("crash", i * 5, 5)));
const resume = new Promise<void>((resolve) => process.once("SIGUSR2", () => resolve()));
for (let i = 0; i < count / 2; i++) await write(i);
process.stdout.write("half\n");
await resume;
for (let i = count / 2; i < count; i++) await write(i);
process.stdout.write(`written ${count}\n`);
process.kill(process.pid, "SIGKILL");
