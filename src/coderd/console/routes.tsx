// The console: server-rendered pages at / of coderd, reading only through
// the Store. Sign-in turns a token into the console cookie (query/auth.ts);
// every page but /login and /assets needs it. Filters are parsed by the
// same code as the JSON API (query/params.ts), so a bad one names its
// parameter here too. Every record value is attacker-controlled: pages
// render it as escaped text (Hono JSX), never as a link target, and the
// Content-Security-Policy allows no inline script, so even a rendering
// mistake could not run one. The live tail polls the store for records
// above the last id it sent (every LIVE_POLL_MS) and stops when the client
// goes or coderd stops.
import { Hono, type Context } from "hono";
import { bodyLimit } from "hono/body-limit";
import { streamSSE } from "hono/streaming";
import { logfmtValue } from "../../record/goquote.ts";
import { cookieHeader, type Reader, type Readers } from "../query/auth.ts";
import {
  BadParameter, BUCKETS, encodeCursor, FILTER_PARAMS, filterToSearch, logFilter, Params, sessionIdParam,
} from "../query/params.ts";
import { readerOf, timeseriesWindow } from "../query/routes.ts";
import type { LogFilter, Store } from "../store/store.ts";
import { ASSETS_BY_PATH } from "./assets.ts";
import type { FilterValues } from "./components/filter-form.tsx";
import { ErrorBox, Layout } from "./components/layout.tsx";
import { LivePage } from "./pages/live.tsx";
import { LoginPage } from "./pages/login.tsx";
import { OverviewPage, RANGES, type RangeName } from "./pages/overview.tsx";
import { RecordsPage } from "./pages/records.tsx";
import { SessionPage } from "./pages/session.tsx";
import { SessionsPage } from "./pages/sessions.tsx";
import { ProcessesPage } from "./pages/processes.tsx";
import { EXEC_FILTER_PARAMS, execFilter } from "../process/query.ts";
import type { ProcessLogStore } from "../process/store.ts";

export interface ConsoleOptions {
  store: Store;
  /** Exec records (the Processes page). */
  processStore: ProcessLogStore;
  readers: Readers;
  now: () => Date;
  log: (message: string) => void;
  /** Served over TLS: the cookie is Secure. */
  secure: boolean;
  /** Aborted when coderd stops: ends live tails so shutdown does not wait on them. */
  closing?: AbortSignal;
}

export const CSP = [
  "default-src 'none'", "script-src 'self'", "style-src 'self'", "img-src 'self'", "connect-src 'self'",
  "form-action 'self'", "frame-ancestors 'none'", "base-uri 'none'",
].join("; ");

const PAGE_SIZE = 100;
const SESSION_PAGE_SIZE = 500;
const LIVE_BACKLOG = 50;
const LIVE_POLL_MS = 500;
const LIVE_BATCH = 200;
const LIVE_HEARTBEAT_MS = 15_000;

type Env = { Variables: { reader: Reader } };
type Handler = (c: Context<Env>) => Response | Promise<Response>;

function securityHeaders(c: Context) {
  c.header("Content-Security-Policy", CSP);
  c.header("X-Content-Type-Options", "nosniff");
  // same-origin, not no-referrer: with no-referrer a form POST carries "Origin: null" and the sign-in origin check fails.
  c.header("Referrer-Policy", "same-origin");
  c.header("X-Frame-Options", "DENY");
  c.header("Cache-Control", "no-store");
}

/** A local path to return to after sign-in; anything else becomes "/". */
function safeNext(v: string | undefined): string {
  return v && /^\/(?![/\\])[^\s]*$/.test(v) ? v : "/";
}

/** The form's values as given (for echoing into the form), empty ones dropped. */
function formValues(url: string, params: readonly string[] = FILTER_PARAMS): FilterValues {
  const values: FilterValues = {};
  for (const [k, v] of new URL(url).searchParams) if (v.trim() !== "" && params.includes(k)) values[k] = v;
  return values;
}

export function createConsole(opts: ConsoleOptions): Hono<Env> {
  const app = new Hono<Env>();
  const { store } = opts;

  /** A page that needs a signed-in reader; others are sent to /login. */
  const page = (path: string, handler: Handler) =>
    app.get(path, async (c) => {
      securityHeaders(c);
      const reader = opts.readers.enabled ? readerOf(c, opts.readers, opts.now().getTime()) : null;
      if (!reader) {
        const url = new URL(c.req.url);
        return c.redirect(`/login?${new URLSearchParams({ next: url.pathname + url.search })}`, 303);
      }
      c.set("reader", reader);
      try {
        return await handler(c);
      } catch (err) {
        if (err instanceof BadParameter) {
          return c.html(<Layout title="Bad request" section="overview" user={reader.name}><ErrorBox message={err.message} /></Layout>, 400);
        }
        opts.log(`console: ${c.req.path} failed: ${logfmtValue((err as Error).message)}`);
        return c.html(<Layout title="Unavailable" section="overview" user={reader.name}><ErrorBox message={`The store is unavailable: ${(err as Error).message}`} /></Layout>, 503);
      }
    });

  app.get("/assets/:name", (c) => {
    const asset = ASSETS_BY_PATH.get(c.req.path);
    if (!asset) return c.text("not found\n", 404);
    c.header("X-Content-Type-Options", "nosniff");
    c.header("Cache-Control", "public, max-age=31536000, immutable");
    return c.body(asset.body, 200, { "Content-Type": asset.type });
  });

  app.get("/favicon.ico", (c) => c.body(null, 204));

  app.get("/login", (c) => {
    securityHeaders(c);
    return c.html(<LoginPage next={safeNext(c.req.query("next"))} enabled={opts.readers.enabled} />);
  });

  app.post("/login", bodyLimit({ maxSize: 8192 }), async (c) => {
    securityHeaders(c);
    const origin = c.req.header("origin");
    if (origin && origin !== new URL(c.req.url).origin) return c.text("cross-site sign-in refused\n", 403);
    const form = await c.req.parseBody();
    const token = typeof form.token === "string" ? form.token.trim() : "";
    const next = safeNext(typeof form.next === "string" ? form.next : undefined);
    const reader = token ? opts.readers.byToken(token) : null;
    if (!reader) {
      opts.log("console: sign-in refused (wrong token)");
      return c.html(<LoginPage next={next} enabled={opts.readers.enabled} error="That token is not accepted. Use coderd's admin token or yours from --users-file." />, 401);
    }
    opts.log(`console: sign-in user=${logfmtValue(reader.name)}`);
    c.header("Set-Cookie", cookieHeader(opts.readers.issueCookie(reader, opts.now().getTime()), { secure: opts.secure }));
    return c.redirect(next, 303);
  });

  app.post("/logout", (c) => {
    securityHeaders(c);
    c.header("Set-Cookie", cookieHeader("", { secure: opts.secure, clear: true }));
    return c.redirect("/login", 303);
  });

  /** Parses a page's filters; a bad one is rendered as a message with status 400. */
  async function filtered(c: Context<Env>, allowed: readonly string[], render: (p: Params, f: LogFilter) => Promise<Response>, renderError: (message: string) => Response | Promise<Response>) {
    let p: Params;
    let f: LogFilter;
    try {
      p = Params.of(c.req.url, allowed, { dropEmpty: true });
      f = logFilter(p);
    } catch (err) {
      if (!(err instanceof BadParameter)) throw err;
      c.status(400);
      return renderError(err.message);
    }
    return render(p, f);
  }

  page("/", async (c) => {
    const p = Params.of(c.req.url, ["range"], { dropEmpty: true });
    const range = (p.oneOf("range", Object.keys(RANGES) as RangeName[]) ?? "24h") as RangeName;
    const bucket = RANGES[range].bucket;
    const now = opts.now();
    const spanMs = { "24h": 86_400_000, "7d": 7 * 86_400_000, "30d": 30 * 86_400_000 }[range];
    const end = new Date(Math.ceil((now.getTime() + 1) / BUCKETS[bucket].ms) * BUCKETS[bucket].ms);
    const window = timeseriesWindow(bucket, new Date(end.getTime() - spanMs), end, now);
    const since = new Date(now.getTime() - spanMs);
    const [points, topDomains, topWorkspaces, agents] = await Promise.all([
      store.timeseries({ ...window, bucketMs: BUCKETS[bucket].ms }),
      store.top({ by: "domain", decision: "deny", since, limit: 8 }),
      store.top({ by: "workspace", decision: "deny", since, limit: 8 }),
      store.agentsLastSeen(10),
    ]);
    return c.html(
      <OverviewPage user={c.var.reader.name} range={range} since={since.toISOString()} points={points} topDomains={topDomains}
        topWorkspaces={topWorkspaces} agents={agents} coderdUrl={new URL(c.req.url).origin} />,
    );
  });

  page("/records", (c) =>
    filtered(c, [...FILTER_PARAMS, "cursor"], async (p, f) => {
      const result = await store.searchLogs({ ...f, limit: PAGE_SIZE, after: p.cursor() });
      const query = filterToSearch(f);
      const nextHref = result.next ? `/records?${new URLSearchParams([...query, ["cursor", encodeCursor(result.next)]])}` : null;
      return c.html(<RecordsPage user={c.var.reader.name} values={formValues(c.req.url)} query={query.toString()} rows={result.items} nextHref={nextHref} />);
    }, (message) => c.html(<RecordsPage user={c.var.reader.name} values={formValues(c.req.url)} query="" rows={[]} nextHref={null} error={message} />)));

  page("/sessions", async (c) => {
    let p: Params;
    let workspaceId: string | undefined;
    try {
      p = Params.of(c.req.url, ["workspace_id", "cursor"], { dropEmpty: true });
      workspaceId = p.uuid("workspace_id");
    } catch (err) {
      if (!(err instanceof BadParameter)) throw err;
      return c.html(<SessionsPage user={c.var.reader.name} sessions={[]} nextHref={null} error={err.message} />, 400);
    }
    const result = await store.sessionSummaries({ workspaceId, limit: 50, after: p.cursor() });
    const nextHref = result.next
      ? `/sessions?${new URLSearchParams({ ...(workspaceId ? { workspace_id: workspaceId } : {}), cursor: encodeCursor(result.next) })}`
      : null;
    return c.html(<SessionsPage user={c.var.reader.name} sessions={result.items} nextHref={nextHref} workspaceId={workspaceId} />);
  });

  page("/sessions/:id", async (c) => {
    let sessionId: string;
    let afterSeq: number;
    try {
      sessionId = sessionIdParam(c.req.param("id") ?? "", "session id");
      afterSeq = Params.of(c.req.url, ["after_seq"], { dropEmpty: true }).int("after_seq", -1, 2 ** 31 - 1) ?? -1;
    } catch (err) {
      if (!(err instanceof BadParameter)) throw err;
      return c.html(<Layout title="Session" section="sessions" user={c.var.reader.name}><ErrorBox message={err.message} /></Layout>, 400);
    }
    const s = await store.sessionSummary(sessionId);
    if (!s) {
      return c.html(<Layout title="Session" section="sessions" user={c.var.reader.name}><ErrorBox message="No such session. It may have been purged by --retention." /></Layout>, 404);
    }
    const rows = await store.sessionLogs({ sessionId, workspaceId: s.workspace_id, afterSeq, limit: SESSION_PAGE_SIZE });
    const last = rows.length === SESSION_PAGE_SIZE ? rows[rows.length - 1] : undefined;
    const nextHref = last ? `/sessions/${encodeURIComponent(sessionId)}?after_seq=${last.sequence_number}` : null;
    return c.html(<SessionPage user={c.var.reader.name} s={s} rows={rows} afterSeq={afterSeq} nextHref={nextHref} />);
  });

  page("/processes", async (c) => {
    const values = formValues(c.req.url, EXEC_FILTER_PARAMS);
    let p: Params;
    let filter: ReturnType<typeof execFilter>;
    try {
      p = Params.of(c.req.url, [...EXEC_FILTER_PARAMS, "cursor"], { dropEmpty: true });
      filter = execFilter(p);
    } catch (err) {
      if (!(err instanceof BadParameter)) throw err;
      return c.html(<ProcessesPage user={c.var.reader.name} values={values} rows={[]} nextHref={null} error={err.message} />, 400);
    }
    const result = await opts.processStore.listExecs({ ...filter, limit: PAGE_SIZE, after: p.cursor() });
    const nextHref = result.next ? `/processes?${new URLSearchParams({ ...values, cursor: encodeCursor(result.next) })}` : null;
    return c.html(<ProcessesPage user={c.var.reader.name} values={values} rows={result.items} nextHref={nextHref} />);
  });

  page("/live", (c) =>
    filtered(c, FILTER_PARAMS, async (_p, f) => {
      const after = await store.lastLogId();
      const backlog = await store.searchLogs({ ...f, limit: LIVE_BACKLOG });
      return c.html(<LivePage user={c.var.reader.name} values={formValues(c.req.url)} rows={backlog.items} after={after} />);
    }, (message) => c.html(<LivePage user={c.var.reader.name} values={formValues(c.req.url)} rows={[]} after={0} error={message} />)));

  app.get("/live/events", async (c) => {
    securityHeaders(c);
    const reader = opts.readers.enabled ? readerOf(c, opts.readers, opts.now().getTime()) : null;
    if (!reader) return c.text("sign in first\n", 401);
    let filter: LogFilter;
    let after: number;
    try {
      const p = Params.of(c.req.url, [...FILTER_PARAMS, "after"], { dropEmpty: true });
      filter = logFilter(p);
      after = Math.max(p.int("after", 0, Number.MAX_SAFE_INTEGER) ?? 0, Number(c.req.header("last-event-id")) || 0);
    } catch (err) {
      if (!(err instanceof BadParameter)) throw err;
      return c.text(`${err.message}\n`, 400);
    }
    return streamSSE(c, async (stream) => {
      // Written at once so the browser sees the stream open (headers go out with the first bytes).
      await stream.write("retry: 2000\n\n");
      let lastWrite = Date.now();
      while (!stream.aborted && !stream.closed && !opts.closing?.aborted) {
        const rows = await store.logsAfterId(filter, after, LIVE_BATCH);
        for (const r of rows) {
          await stream.writeSSE({ event: "record", id: String(r.id), data: JSON.stringify(r) });
          after = r.id;
          lastWrite = Date.now();
        }
        if (rows.length === LIVE_BATCH) continue;
        if (Date.now() - lastWrite >= LIVE_HEARTBEAT_MS) {
          await stream.write(": still here\n\n");
          lastWrite = Date.now();
        }
        await stream.sleep(LIVE_POLL_MS);
      }
    });
  });

  return app;
}
