// The agent's HTTP face: /healthz (alive), /readyz (socket listening and
// output ready, else 503 with the reason), /metrics (Prometheus text).
import { Hono } from "hono";
import type { Registry } from "prom-client";

export interface AgentHttpDeps {
  registry: Registry;
  /** null when ready, else why not. */
  notReadyReason: () => string | null;
  /** `name: value` lines shown under the verdict. */
  details?: () => string[];
}

export function createAgentHttpApp(deps: AgentHttpDeps): Hono {
  const app = new Hono();
  app.get("/healthz", (c) => c.text("ok"));
  app.get("/readyz", (c) => {
    const reason = deps.notReadyReason();
    const body = [reason === null ? "ok" : `not ready: ${reason}`, ...(deps.details?.() ?? [])].join("\n");
    return c.text(`${body}\n`, reason === null ? 200 : 503);
  });
  app.get("/metrics", async (c) => {
    const body = await deps.registry.metrics();
    return c.body(body, 200, { "Content-Type": deps.registry.contentType });
  });
  return app;
}
