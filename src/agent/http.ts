// The agent's HTTP face: /healthz (alive), /readyz (socket listening and
// output ready, else 503 with the reason), /metrics (Prometheus text).
// /readyz answers JSON, the same shape as coderd's:
//   {"ready": true|false, "reason": "ready" | why not, "details": {"socket": "…", …}}
import { Hono } from "hono";
import type { Registry } from "prom-client";

export interface AgentHttpDeps {
  registry: Registry;
  /** null when ready, else why not. */
  notReadyReason: () => string | null;
  /** `name: value` lines, shown as the `details` object of /readyz. */
  details?: () => string[];
}

export function createAgentHttpApp(deps: AgentHttpDeps): Hono {
  const app = new Hono();
  app.get("/healthz", (c) => c.text("ok"));
  app.get("/readyz", (c) => {
    const reason = deps.notReadyReason();
    const details = Object.fromEntries((deps.details?.() ?? []).map(splitDetail));
    return c.json({ ready: reason === null, reason: reason ?? "ready", details }, reason === null ? 200 : 503);
  });
  app.get("/metrics", async (c) => {
    const body = await deps.registry.metrics();
    return c.body(body, 200, { "Content-Type": deps.registry.contentType });
  });
  return app;
}

/** `spool: 10 of 20 bytes` → ["spool", "10 of 20 bytes"]. */
function splitDetail(line: string): [string, string] {
  const at = line.indexOf(": ");
  return at === -1 ? [line, ""] : [line.slice(0, at), line.slice(at + 2)];
}
