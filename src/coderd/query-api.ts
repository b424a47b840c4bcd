// The query API under /api/v2/boundary/: JSON, admin token only. Every
// parameter is checked; a bad or unknown one is a 400 naming it. Times are
// RFC 3339; since/until filter on captured_at (when coderd received the
// record: a clock the agent cannot set). Newest-first lists page with an
// opaque cursor over (time, id), so pages never skip or repeat a row while
// new records arrive.
import { createHash, timingSafeEqual } from "node:crypto";
import { Hono, type Context } from "hono";
import type { IdentityRegistry } from "./identities/registry.ts";
import type { PagePosition, Store } from "./store/store.ts";

export const DEFAULT_LIMIT = 100;
export const MAX_LIMIT = 1000;

class BadParameter extends Error {
  constructor(
    readonly parameter: string,
    message: string,
  ) {
    super(`${parameter}: ${message}`);
  }
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$/;

/** The query string, refusing parameters an endpoint does not know. */
function params(c: Context, allowed: string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const [key, value] of new URL(c.req.url).searchParams) {
    if (!allowed.includes(key)) throw new BadParameter(key, `unknown parameter (allowed: ${allowed.join(", ")})`);
    if (out.has(key)) throw new BadParameter(key, "given more than once");
    out.set(key, value);
  }
  return out;
}

function time(p: Map<string, string>, name: string): Date | undefined {
  const v = p.get(name);
  if (v === undefined) return undefined;
  const ms = RFC3339.test(v) ? Date.parse(v.replace(" ", "T")) : Number.NaN;
  if (Number.isNaN(ms)) throw new BadParameter(name, `${JSON.stringify(v)} is not an RFC 3339 time such as 2025-12-08T20:58:46Z`);
  return new Date(ms);
}

function int(p: Map<string, string>, name: string, min: number, max: number): number | undefined {
  const v = p.get(name);
  if (v === undefined) return undefined;
  if (!/^-?\d+$/.test(v) || Number(v) < min || Number(v) > max) {
    throw new BadParameter(name, `${JSON.stringify(v)} is not an integer from ${min} to ${max}`);
  }
  return Number(v);
}

function limit(p: Map<string, string>, fallback = DEFAULT_LIMIT): number {
  return int(p, "limit", 1, MAX_LIMIT) ?? fallback;
}

function oneOf<T extends string>(p: Map<string, string>, name: string, values: readonly T[]): T | undefined {
  const v = p.get(name);
  if (v === undefined) return undefined;
  if (!values.includes(v as T)) throw new BadParameter(name, `${JSON.stringify(v)} is not one of ${values.join(", ")}`);
  return v as T;
}

function nonEmpty(p: Map<string, string>, name: string): string | undefined {
  const v = p.get(name);
  if (v === undefined) return undefined;
  if (v.trim() === "") throw new BadParameter(name, "must not be empty");
  return v.trim();
}

function window(p: Map<string, string>): { since?: Date; until?: Date } {
  const since = time(p, "since");
  const until = time(p, "until");
  if (since && until && since >= until) throw new BadParameter("until", "must be later than since");
  return { since, until };
}

export function encodeCursor(pos: PagePosition): string {
  return Buffer.from(JSON.stringify([pos.at, pos.id])).toString("base64url");
}

function cursor(p: Map<string, string>): PagePosition | undefined {
  const v = p.get("cursor");
  if (v === undefined) return undefined;
  try {
    const parsed: unknown = JSON.parse(Buffer.from(v, "base64url").toString("utf8"));
    if (Array.isArray(parsed) && parsed.length === 2 && parsed.every(Number.isSafeInteger)) {
      return { at: parsed[0] as number, id: parsed[1] as number };
    }
  } catch {
    // fall through
  }
  throw new BadParameter("cursor", "is not a cursor this API returned (pass next_cursor unchanged)");
}

/** A domain as given or as a URL would carry it (IDNs in punycode), lower case. */
function domain(p: Map<string, string>): string | undefined {
  const v = nonEmpty(p, "domain");
  if (v === undefined) return undefined;
  try {
    return new URL(`http://${v}`).hostname.toLowerCase();
  } catch {
    throw new BadParameter("domain", `${JSON.stringify(v)} is not a host name`);
  }
}

const digest = (s: string) => createHash("sha256").update(s).digest();

export interface QueryApiOptions {
  store: Store;
  adminToken: string;
  identities: IdentityRegistry;
}

function requireAdmin(opts: QueryApiOptions) {
  const adminDigest = opts.adminToken ? digest(opts.adminToken) : null;
  return async (c: Context, next: () => Promise<void>) => {
    if (!adminDigest) {
      return c.json({ message: "the query API is off: start coderd with --admin-token or --admin-token-file" }, 403);
    }
    const m = /^Bearer\s+(.+)$/i.exec(c.req.header("authorization")?.trim() ?? "");
    const token = m ? m[1]!.trim() : "";
    if (token && timingSafeEqual(digest(token), adminDigest)) return next();
    if (token && opts.identities.lookup(token)) {
      return c.json({ message: "agent tokens cannot read the query API; use the admin token" }, 403);
    }
    c.header("WWW-Authenticate", 'Bearer realm="boundary-relay"');
    return c.json({ message: token ? "wrong admin token" : "missing admin token (Authorization: Bearer …)" }, 401);
  };
}

export function createQueryApi(opts: QueryApiOptions): Hono {
  const api = new Hono();
  const { store } = opts;
  api.use("*", requireAdmin(opts));
  api.onError((err, c) => {
    if (err instanceof BadParameter) return c.json({ message: err.message, parameter: err.parameter }, 400);
    return c.json({ message: `store unavailable: ${err.message}` }, 503);
  });

  api.get("/sessions", async (c) => {
    const p = params(c, ["workspace_id", "since", "until", "limit", "cursor"]);
    const page = await store.listSessions({
      workspaceId: nonEmpty(p, "workspace_id"), ...window(p), limit: limit(p), after: cursor(p),
    });
    return c.json({ sessions: page.items, next_cursor: page.next ? encodeCursor(page.next) : null });
  });

  api.get("/sessions/:session_id/logs", async (c) => {
    const p = params(c, ["workspace_id", "after_seq", "before_seq", "limit"]);
    const afterSeq = int(p, "after_seq", -1, 2 ** 31 - 1);
    const beforeSeq = int(p, "before_seq", -(2 ** 31), 2 ** 31);
    const max = limit(p);
    const logs = await store.sessionLogs({
      sessionId: c.req.param("session_id"), workspaceId: nonEmpty(p, "workspace_id"), afterSeq, beforeSeq, limit: max,
    });
    const last = logs.length === max ? logs[logs.length - 1] : undefined;
    return c.json({ session_id: c.req.param("session_id"), logs, next_after_seq: last ? last.sequence_number : null });
  });

  api.get("/logs", async (c) => {
    const p = params(c, ["workspace_id", "decision", "domain", "since", "until", "limit", "cursor"]);
    const page = await store.listLogs({
      workspaceId: nonEmpty(p, "workspace_id"),
      decision: oneOf(p, "decision", ["allow", "deny"] as const),
      domain: domain(p),
      ...window(p),
      limit: limit(p),
      after: cursor(p),
    });
    return c.json({ logs: page.items, next_cursor: page.next ? encodeCursor(page.next) : null });
  });

  api.get("/stats", async (c) => {
    const p = params(c, ["since", "until"]);
    const w = window(p);
    const workspaces = await store.stats(w);
    return c.json({ since: w.since?.toISOString() ?? null, until: w.until?.toISOString() ?? null, workspaces });
  });

  api.get("/stats/top-denied", async (c) => {
    const p = params(c, ["by", "limit", "since", "until"]);
    const by = oneOf(p, "by", ["domain", "url"] as const) ?? "domain";
    const w = window(p);
    const top = await store.topDenied({ by, ...w, limit: limit(p, 5) });
    return c.json({ by, since: w.since?.toISOString() ?? null, until: w.until?.toISOString() ?? null, top });
  });

  api.notFound((c) => c.json({ message: `no such endpoint: ${c.req.method} ${new URL(c.req.url).pathname}` }, 404));
  return api;
}
