// coderd's one HTTP face (Hono): the ingest RPC, the query API, the
// console, /healthz, /readyz and /metrics. /readyz answers JSON, the same shape as the agent's:
//   {"ready": true|false, "reason": "ready" | why not, "details": {"store": …, "agent_identities": N}}
import { Hono } from "hono";
import type { ServiceImpl } from "@connectrpc/connect";
import type { IngestService } from "../gen/boundaryrelay/v1/ingest_pb.ts";
import { mountIngest } from "./connect-handler.ts";
import type { IdentityRegistry } from "./identities/registry.ts";
import type { CoderdMetrics } from "./metrics.ts";
import { createConsole } from "./console/routes.tsx";
import type { Readers } from "./query/auth.ts";
import { createAgentFirewallApi, createQueryApi } from "./query/routes.ts";
import { createProcessQueryApi } from "./process/query.ts";
import type { ProcessLogStore } from "./process/store.ts";
import type { Store } from "./store/store.ts";

export interface CoderdAppOptions {
  store: Store;
  identities: IdentityRegistry;
  metrics: CoderdMetrics;
  ingest: ServiceImpl<typeof IngestService>;
  /** Who may read the query API and the console. */
  readers: Readers;
  maxBodyBytes: number;
  /** Served over TLS: the console's cookie is then Secure. */
  tls: boolean;
  now: () => Date;
  log: (message: string) => void;
  /** Aborted when coderd stops (ends the console's live tails). */
  closing?: AbortSignal;
  processStore: ProcessLogStore;
}

export function createCoderdApp(opts: CoderdAppOptions): Hono {
  const app = new Hono();
  app.get("/healthz", (c) => c.text("ok\n"));
  app.get("/readyz", async (c) => {
    const agent_identities = opts.identities.current.size;
    try {
      await opts.store.ping();
    } catch (err) {
      const reason = `store unreachable: ${(err as Error).message}`;
      return c.json({ ready: false, reason, details: { store: reason, agent_identities } }, 503);
    }
    return c.json({ ready: true, reason: "ready", details: { store: "ok", agent_identities } });
  });
  app.get("/metrics", async (c) => {
    opts.metrics.identities.set(opts.identities.current.size);
    const body = await opts.metrics.registry.metrics();
    return c.body(body, 200, { "Content-Type": opts.metrics.registry.contentType });
  });
  mountIngest(app, { service: opts.ingest, identities: opts.identities, maxBodyBytes: opts.maxBodyBytes, metrics: opts.metrics });
  const query = { store: opts.store, readers: opts.readers, identities: opts.identities, now: opts.now, log: opts.log };
  app.route("/api/v2/boundary", createQueryApi(query));
  app.route("/api/v2/agent-firewall", createAgentFirewallApi(query));
  app.route("/api/v2/process", createProcessQueryApi({ ...query, store: opts.processStore }));
  app.route("/", createConsole({ ...query, processStore: opts.processStore, secure: opts.tls, closing: opts.closing }));
  return app;
}
