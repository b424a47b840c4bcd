// Composes coderd: identities, store, emitter, ingest, query API,
// retention and the HTTP server, behind a start/stop handle that the CLI,
// `dev` and the tests share. Emission and diagnostics go to an injectable
// writer (process.stderr in the CLI).
import { readFileSync } from "node:fs";
import type { CoderdConfig } from "../config/coderd.ts";
import { formatListen } from "../config/kinds.ts";
import { ConfigError } from "../config/load.ts";
import { resolveSecret } from "../config/secrets.ts";
import { serveHttp, type HttpServer } from "../runtime/adapter.ts";
import { Emitter, type Writer } from "./emitter.ts";
import { createCoderdApp } from "./http.ts";
import { IdentityRegistry, type IdentityTable } from "./identities.ts";
import { createIngestService } from "./ingest.ts";
import { loadUsersFile, Readers } from "./query/auth.ts";
import { createCoderdMetrics, type CoderdMetrics } from "./metrics.ts";
import { Retention } from "./retention.ts";
import { openStore } from "./store/open.ts";
import type { Store } from "./store/store.ts";

export interface CoderdStartOptions {
  config: CoderdConfig;
  /** Where boundary_request lines and diagnostics go; default process.stderr. */
  stderr?: Writer;
  /** Clock for captured_at, line timestamps and retention. */
  now?: () => Date;
  /** Identities to use instead of reading config.agents_file (e.g. `dev`). */
  identities?: IdentityTable;
  /** How long a store write waits for a lock held elsewhere (ms). */
  busyTimeoutMs?: number;
}

export interface CoderdHandle {
  url: string;
  port: number;
  store: Store;
  metrics: CoderdMetrics;
  retention: Retention;
  /** Rereads the agents file; on error keeps the old identities and reports why on stderr. */
  reloadIdentities(): boolean;
  stop(): Promise<void>;
}

function resolveTls(config: CoderdConfig): { cert: string; key: string } | undefined {
  if (!config.tls_cert_file && !config.tls_key_file) return undefined;
  if (!config.tls_cert_file || !config.tls_key_file) {
    throw new ConfigError([{ field: config.tls_cert_file ? "tls_key_file" : "tls_cert_file", where: "--tls-cert-file/--tls-key-file", message: "HTTPS needs both a certificate and a key" }]);
  }
  return { cert: readFileSync(config.tls_cert_file, "utf8"), key: readFileSync(config.tls_key_file, "utf8") };
}

export async function startCoderd(opts: CoderdStartOptions): Promise<CoderdHandle> {
  const { config } = opts;
  const write: Writer = opts.stderr ?? ((chunk) => void process.stderr.write(chunk));
  const log = (message: string) => write(`boundary-relay coderd: ${message}\n`);
  const now = opts.now ?? (() => new Date());
  const adminToken = resolveSecret(config, "admin_token");
  const tls = resolveTls(config);
  const identities = new IdentityRegistry(config.agents_file, opts.identities);
  const metrics = createCoderdMetrics();
  const store = await openStore(config.db, { busyTimeoutMs: opts.busyTimeoutMs });
  let server: HttpServer | undefined;
  const closing = new AbortController();
  const retention = new Retention({
    store, metrics, retentionMs: config.retention, intervalMs: config.retention_interval, now, log,
  });
  try {
    const ingest = createIngestService({ store, emitter: new Emitter(config.log_format, write, now), metrics, now, log });
    const readers = new Readers(adminToken, config.users_file ? loadUsersFile(config.users_file) : []);
    const app = createCoderdApp({
      store, identities, metrics, ingest, readers, maxBodyBytes: config.max_body_bytes, tls: Boolean(tls), now, log, closing: closing.signal,
    });
    server = await serveHttp({ ...config.http_listen, fetch: app.fetch, tls });
  } catch (err) {
    await store.close();
    throw err;
  }
  retention.start();
  const url = `${tls ? "https" : "http"}://${formatListen(server)}`;
  if (identities.current.size === 0) log("no agent identities (--agents-file): every ingest request will be refused");
  if (!adminToken && !config.users_file) log("no --admin-token: the query API and console are off");
  let stopped = false;
  return {
    url,
    port: server.port,
    store,
    metrics,
    retention,
    reloadIdentities() {
      const result = identities.reload();
      metrics.identityReloads.inc({ result: result.ok ? "ok" : "error" });
      if (result.ok) log(`reloaded ${config.agents_file}: ${result.count} agent identities`);
      else log(`reload of ${config.agents_file} failed, keeping the previous identities:\n${result.error}`);
      return result.ok;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await retention.stop();
      closing.abort();
      await server!.stop();
      await store.close();
    },
  };
}
