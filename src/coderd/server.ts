// Composes coderd: identities, store, line emitter, ingest, query API,
// retention and the HTTP server, behind a start/stop handle that the CLI,
// `dev` and the tests share. Lines and diagnostics go to an injectable
// writer (process.stderr in the CLI). Start-up failures are thrown as they
// are (StoreError, AgentsFileError, ConfigError); the CLI translates them.
import type { CoderdConfig } from "../config/coderd.ts";
import { formatListen } from "../config/kinds.ts";
import { serveHttp, type HttpServer } from "../runtime/adapter.ts";
import { createCoderdApp } from "./http.ts";
import { IdentityRegistry } from "./identities/registry.ts";
import type { IdentityTable } from "./identities/table.ts";
import { createIngestService } from "./ingest.ts";
import { loadUsersFile, Readers } from "./query/auth.ts";
import { LineEmitter, stderrWriter, type Writer } from "./line-emitter.ts";
import { createCoderdMetrics, type CoderdMetrics } from "./metrics.ts";
import { createExecLines } from "./process/exec-lines.ts";
import { createProcessIngest } from "./process/ingest.ts";
import { openProcessLogStore } from "./process/open.ts";
import { Retention } from "./retention.ts";
import { resolveCoderdSettings } from "./settings.ts";
import { openStore, storeKindOf } from "./store/open.ts";
import type { Store } from "./store/store.ts";

export interface CoderdStartOptions {
  config: CoderdConfig;
  /** Where boundary_request lines and diagnostics go; default process.stderr (resolving once written). */
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
  /** Resolves once every record (boundary and exec) committed so far has its line written. */
  linesWritten(): Promise<void>;
  /** Rereads the agents file; on error keeps the old identities and reports why on stderr. */
  reloadIdentities(): boolean;
  stop(): Promise<void>;
}

export async function startCoderd(opts: CoderdStartOptions): Promise<CoderdHandle> {
  const { config } = opts;
  const write: Writer = opts.stderr ?? stderrWriter;
  // A diagnostic that cannot be written has nowhere else to go.
  const log = (message: string) => void Promise.resolve(write(`boundary-relay coderd: ${message}\n`)).catch(() => {});
  const now = opts.now ?? (() => new Date());
  const { adminToken, tls, identities: fromFile } = resolveCoderdSettings(config);
  const identities = new IdentityRegistry(config.agents_file, opts.identities ?? fromFile);
  const metrics = createCoderdMetrics();
  const store = await openStore(config.db, {
    busyTimeoutMs: opts.busyTimeoutMs,
    onCommit: (batches) => (metrics.storeCommits.inc(), metrics.batchesCommitted.inc(batches)),
  });
  let processStore;
  try {
    processStore = await openProcessLogStore(config.db, opts.busyTimeoutMs);
  } catch (err) {
    await store.close();
    throw err;
  }
  let server: HttpServer | undefined;
  const closing = new AbortController();
  const retention = new Retention({
    store, processStore, metrics, retentionMs: config.retention, intervalMs: config.retention_interval, now, log,
  });
  const shared = storeKindOf(config.db) === "postgres";
  // A shared store also holds records other replicas stored and did not print: look every second.
  const pollMs = shared ? 1000 : undefined;
  const lines = new LineEmitter({ store, format: config.log_format, write, metrics, now, pollMs });
  const execLines = createExecLines({ store: processStore, format: config.log_format, write, metrics: metrics.process, now, pollMs });
  const warnExposure = () => {
    const warning = identities.exposureWarning();
    if (warning) log(warning);
  };
  try {
    const ingest = {
      ...createIngestService({ store, lines, metrics, now, log }),
      ...createProcessIngest({ store: processStore, metrics: metrics.process, lines: execLines, now, log }),
    };
    const readers = new Readers(adminToken, config.users_file ? loadUsersFile(config.users_file) : []);
    const app = createCoderdApp({
      store, identities, metrics, ingest, readers, maxBodyBytes: config.max_body_bytes, tls: Boolean(tls), now, log, closing: closing.signal, processStore,
    });
    server = await serveHttp({ ...config.http_listen, fetch: app.fetch, tls });
  } catch (err) {
    await processStore.close();
    await store.close();
    throw err;
  }
  retention.start();
  lines.wake(); // what a previous run stored and did not print
  execLines.wake();
  const url = `${tls ? "https" : "http"}://${formatListen(server)}`;
  if (identities.current.size === 0) log("no agent identities (--agents-file): every ingest request will be refused");
  if (!adminToken && !config.users_file) log("no --admin-token: the query API and console are off");
  warnExposure();
  let stopped = false;
  return {
    url,
    port: server.port,
    store,
    metrics,
    retention,
    linesWritten: async () => void (await Promise.all([lines.settled(), execLines.settled()])),
    reloadIdentities() {
      const result = identities.reload();
      metrics.identityReloads.inc({ result: result.ok ? "ok" : "error" });
      if (result.ok) log(`reloaded ${config.agents_file}: ${result.count} agent identities`);
      else log(`reload of ${config.agents_file} failed, keeping the previous identities:\n${result.error}`);
      warnExposure();
      return result.ok;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await retention.stop();
      closing.abort();
      await server!.stop();
      await Promise.all([lines.stop(), execLines.stop()]);
      await processStore.close();
      await store.close();
    },
  };
}
