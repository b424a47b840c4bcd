// What shutdown does with records it could not hand to the output in time:
// they are counted (logs_dropped_total{reason="shutdown"}) and logged, never
// lost silently.
import { expect, test } from "bun:test";
import type { RecordOutput } from "../../src/agent/output.ts";
import { metricValue, sendBytes, startTestAgent } from "../helpers/agent.ts";
import { until } from "../helpers/until.ts";
import { vector } from "../helpers/vectors.ts";

/** An output that never takes a batch (a wedged disk or pipe). */
const stuckOutput: RecordOutput = {
  write: () => new Promise<void>(() => {}),
  notReadyReason: () => null,
  close: async () => {},
};

test("records still queued when shutdown_timeout runs out are counted as shutdown drops and logged", async () => {
  const agent = await startTestAgent(["--shutdown-timeout", "300ms"], { output: stuckOutput });
  try {
    await sendBytes(agent.socket.path, vector("v2_logs").bytes);
    await until(async () => (await metricValue(agent, "records_received_total")) === 3, { what: "3 records received" });
    const started = Date.now();
    await agent.stop();
    expect(Date.now() - started).toBeLessThan(5000);
    expect(await metricValue(agent, "logs_dropped_total", { reason: "shutdown" })).toBe(3);
    expect(agent.warnings.join("\n")).toContain("3 records still queued");
  } finally {
    await agent.close();
  }
});
