// The query API under /api/v2/boundary/ and the Coder-compatible routes
// under /api/v2/agent-firewall/: JSON, for the admin token, a --users-file
// token, or the console's cookie. Every parameter is checked; a bad or
// unknown one is a 400 naming it (params.ts). Newest-first lists page with
// an opaque cursor over (time, id), so pages never skip or repeat a row
// while new records arrive. Each query is logged on stderr with the reader's
// name (values Go-quoted, so no query can forge a line).
import { Hono, type Context, type MiddlewareHandler } from "hono";
import { logfmtValue } from "../../record/goquote.ts";
import type { IdentityRegistry } from "../identities.ts";
import type { Store } from "../store/store.ts";
import { bearerFrom, cookieFrom, type Reader, type Readers } from "./auth.ts";
import { EXPORT_FORMATS, exportStream } from "./export.ts";
import {
  BadParameter, BUCKETS, encodeCursor, FILTER_PARAMS, logFilter, MAX_BUCKETS, Params, sessionIdParam, type BucketName,
} from "./params.ts";

export interface QueryApiOptions {
  store: Store;
  readers: Readers;
  identities: IdentityRegistry;
  now: () => Date;
  log: (message: string) => void;
}

export type ReaderEnv = { Variables: { reader: Reader } };

/** The reader a request authenticates as (bearer token first, then the console cookie), or null. */
export function readerOf(c: Context, readers: Readers, now: number): Reader | null {
  const token = bearerFrom(c.req.header("authorization"));
  if (token) return readers.byToken(token);
  const cookie = cookieFrom(c.req.header("cookie"));
  return cookie ? readers.byCookie(cookie, now) : null;
}

/** Lets readers through (logging the query); 401/403 with the reason otherwise. */
function requireReader(opts: QueryApiOptions): MiddlewareHandler<ReaderEnv> {
  return async (c, next) => {
    if (!opts.readers.enabled) {
      return c.json({ message: "the query API is off: start coderd with --admin-token, --admin-token-file or --users-file" }, 403);
    }
    const reader = readerOf(c, opts.readers, opts.now().getTime());
    if (!reader) {
      const token = bearerFrom(c.req.header("authorization"));
      if (token && opts.identities.lookup(token)) {
        return c.json({ message: "agent tokens cannot read the query API; use the admin token" }, 403);
      }
      c.header("WWW-Authenticate", 'Bearer realm="boundary-relay"');
      return c.json({ message: token ? "wrong admin token" : "missing admin token (Authorization: Bearer …)" }, 401);
    }
    c.set("reader", reader);
    const url = new URL(c.req.url);
    opts.log(`query user=${logfmtValue(reader.name)} path=${logfmtValue(url.pathname + url.search)}`);
    return next();
  };
}

const params = (c: Context, allowed: readonly string[]) => Params.of(c.req.url, allowed);

function onError(err: Error, c: Context) {
  if (err instanceof BadParameter) return c.json({ message: err.message, parameter: err.parameter }, 400);
  return c.json({ message: `store unavailable: ${err.message}` }, 503);
}

const notFound = (c: Context) => c.json({ message: `no such endpoint: ${c.req.method} ${new URL(c.req.url).pathname}` }, 404);

export function createQueryApi(opts: QueryApiOptions): Hono<ReaderEnv> {
  const api = new Hono<ReaderEnv>();
  const { store } = opts;
  api.use("*", requireReader(opts));
  api.onError(onError);

  api.get("/sessions", async (c) => {
    const p = params(c, ["workspace_id", "since", "until", "limit", "cursor"]);
    const page = await store.sessionSummaries({ workspaceId: p.uuid("workspace_id"), ...p.window(), limit: p.limit(), after: p.cursor() });
    return c.json({ sessions: page.items, next_cursor: page.next ? encodeCursor(page.next) : null });
  });

  api.get("/sessions/:session_id", async (c) => {
    const p = params(c, ["workspace_id"]);
    const session = await store.sessionSummary(sessionIdParam(c.req.param("session_id")), p.uuid("workspace_id"));
    return session ? c.json(session) : c.json({ message: "no such session" }, 404);
  });

  api.get("/sessions/:session_id/logs", async (c) => {
    const sessionId = sessionIdParam(c.req.param("session_id"));
    const p = params(c, ["workspace_id", "after_seq", "before_seq", "limit"]);
    const max = p.limit();
    const logs = await store.sessionLogs({
      sessionId, workspaceId: p.uuid("workspace_id"), afterSeq: p.int("after_seq", -1, 2 ** 31 - 1),
      beforeSeq: p.int("before_seq", -(2 ** 31), 2 ** 31), limit: max,
    });
    const last = logs.length === max ? logs[logs.length - 1] : undefined;
    return c.json({ session_id: sessionId, logs, next_after_seq: last ? last.sequence_number : null });
  });

  api.get("/logs", async (c) => {
    const p = params(c, [...FILTER_PARAMS, "limit", "cursor"]);
    const page = await store.searchLogs({ ...logFilter(p), limit: p.limit(), after: p.cursor() });
    return c.json({ logs: page.items, next_cursor: page.next ? encodeCursor(page.next) : null });
  });

  api.get("/export", (c) => {
    const p = params(c, [...FILTER_PARAMS, "format"]);
    const format = p.oneOf("format", EXPORT_FORMATS) ?? "ndjson";
    const filter = logFilter(p);
    const stamp = opts.now().toISOString().replace(/[:.]/g, "-");
    return c.body(exportStream(store, filter, format), 200, {
      "Content-Type": format === "csv" ? "text/csv; charset=utf-8" : "application/x-ndjson",
      "Content-Disposition": `attachment; filename="boundary-records-${stamp}.${format}"`,
      "Cache-Control": "no-store",
    });
  });

  api.get("/stats", async (c) => {
    const p = params(c, FILTER_PARAMS);
    const filter = logFilter(p);
    const workspaces = await store.workspaceStats(filter);
    return c.json({ since: filter.since?.toISOString() ?? null, until: filter.until?.toISOString() ?? null, workspaces });
  });

  for (const decision of ["deny", "allow"] as const) {
    api.get(`/stats/top-${decision === "deny" ? "denied" : "allowed"}`, async (c) => {
      const p = params(c, [...FILTER_PARAMS, "by", "limit"]);
      const by = p.oneOf("by", ["domain", "url", "workspace"] as const) ?? "domain";
      const filter = logFilter(p);
      if (filter.decision) throw new BadParameter("decision", "is implied by this endpoint");
      const top = await store.top({ ...filter, by, decision, limit: p.limit(5) });
      return c.json({ by, since: filter.since?.toISOString() ?? null, until: filter.until?.toISOString() ?? null, top });
    });
  }

  api.get("/stats/timeseries", async (c) => {
    const p = params(c, [...FILTER_PARAMS, "bucket"]);
    const bucket: BucketName = p.oneOf("bucket", Object.keys(BUCKETS) as BucketName[]) ?? "1h";
    const filter = logFilter(p);
    const { since, until } = timeseriesWindow(bucket, filter.since, filter.until, opts.now());
    const points = await store.timeseries({ ...filter, since, until, bucketMs: BUCKETS[bucket].ms });
    return c.json({
      bucket, since: since.toISOString(), until: until.toISOString(),
      points: points.map((pt) => ({ at: new Date(pt.at).toISOString(), allowed: pt.allowed, denied: pt.denied })),
    });
  });

  api.notFound(notFound);
  return api;
}

/**
 * The window a timeseries covers: as given, else the bucket's default span
 * ending at the next bucket boundary; at most MAX_BUCKETS buckets.
 */
export function timeseriesWindow(bucket: BucketName, since: Date | undefined, until: Date | undefined, now: Date): { since: Date; until: Date } {
  const { ms, defaultSpanMs } = BUCKETS[bucket];
  const end = until ?? new Date(Math.ceil((now.getTime() + 1) / ms) * ms);
  const start = since ?? new Date(Math.max(end.getTime() - defaultSpanMs, 0));
  if ((end.getTime() - start.getTime()) / ms > MAX_BUCKETS) {
    throw new BadParameter("bucket", `${bucket} over this window makes more than ${MAX_BUCKETS} buckets; use a larger bucket or a shorter since..until`);
  }
  return { since: start, until: end };
}

/**
 * Coder's routes for the same data: GET /sessions/{id} and
 * /sessions/{id}/logs?seq_after=&seq_before=&limit= (exclusive bounds,
 * sequence order), answered from this store.
 */
export function createAgentFirewallApi(opts: QueryApiOptions): Hono<ReaderEnv> {
  const api = new Hono<ReaderEnv>();
  api.use("*", requireReader(opts));
  api.onError(onError);
  api.get("/sessions/:id", async (c) => {
    params(c, []);
    const session = await opts.store.sessionSummary(sessionIdParam(c.req.param("id"), "id"));
    return session ? c.json({ id: session.session_id, ...session }) : c.json({ message: "no such session" }, 404);
  });
  api.get("/sessions/:id/logs", async (c) => {
    const sessionId = sessionIdParam(c.req.param("id"), "id");
    const p = params(c, ["seq_after", "seq_before", "limit"]);
    const logs = await opts.store.sessionLogs({
      sessionId, afterSeq: p.int("seq_after", -1, 2 ** 31 - 1), beforeSeq: p.int("seq_before", -(2 ** 31), 2 ** 31), limit: p.limit(),
    });
    return c.json({ session_id: sessionId, logs });
  });
  api.notFound(notFound);
  return api;
}
