// coderd's one HTTP face (Hono): the ingest RPC, the query API, the
// console, /healthz, /readyz and /metrics.
import { Hono } from "hono";
import type { ServiceImpl } from "@connectrpc/connect";
import type { IngestService } from "../gen/boundaryrelay/v1/ingest_pb.ts";
import { mountIngest } from "./connect-handler.ts";
import type { IdentityRegistry } from "./identities.ts";
import type { CoderdMetrics } from "./metrics.ts";
import { createConsole } from "./console/routes.tsx";
import type { Readers } from "./query/auth.ts";
import { createAgentFirewallApi, createQueryApi } from "./query/routes.ts";
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
}

export function createCoderdApp(opts: CoderdAppOptions): Hono {
  const app = new Hono();
  app.get("/healthz", (c) => c.text("ok\n"));
  app.get("/readyz", async (c) => {
    try {
      await opts.store.ping();
    } catch (err) {
      return c.json({ ready: false, reason: `store unreachable: ${(err as Error).message}` }, 503);
    }
    return c.json({ ready: true, agent_identities: opts.identities.current.size });
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
  app.route("/", createConsole({ ...query, secure: opts.tls, closing: opts.closing }));
  return app;
}
