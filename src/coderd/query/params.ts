// Query-string parameters shared by the JSON API and the console pages: one
// parser per parameter, one error type. Every parameter is checked; a bad or
// unknown one is a BadParameter naming it (a 400 in the API, a message on a
// page). Times are RFC 3339. since/until compare against captured_at (when
// coderd received the record: a clock the agent cannot set) unless
// time=event asks for boundary's event time (whole-second resolution).
import { isUuid } from "../identities.ts";
import type { LogFilter, PagePosition, TimeField } from "../store/store.ts";

export const DEFAULT_LIMIT = 100;
export const MAX_LIMIT = 1000;

export class BadParameter extends Error {
  override readonly name = "BadParameter";
  constructor(
    readonly parameter: string,
    readonly problem: string,
  ) {
    super(`${parameter}: ${problem}`);
  }
}

/** The parameters of a request, refusing those an endpoint does not know. */
export class Params {
  private readonly values = new Map<string, string>();

  constructor(search: URLSearchParams, allowed: readonly string[], opts: { dropEmpty?: boolean } = {}) {
    for (const [key, value] of search) {
      if (!allowed.includes(key)) throw new BadParameter(key, `unknown parameter (allowed: ${allowed.join(", ")})`);
      if (this.values.has(key)) throw new BadParameter(key, "given more than once");
      // An HTML form sends every field, empty ones too: the console drops them.
      if (opts.dropEmpty && value.trim() === "") continue;
      this.values.set(key, value);
    }
  }

  static of(url: string, allowed: readonly string[], opts?: { dropEmpty?: boolean }): Params {
    return new Params(new URL(url).searchParams, allowed, opts);
  }

  raw(name: string): string | undefined {
    return this.values.get(name);
  }

  text(name: string): string | undefined {
    const v = this.values.get(name);
    if (v === undefined) return undefined;
    if (v.trim() === "") throw new BadParameter(name, "must not be empty");
    return v.trim();
  }

  uuid(name: string): string | undefined {
    const v = this.text(name);
    if (v !== undefined && !isUuid(v)) throw new BadParameter(name, `${JSON.stringify(v)} is not a UUID`);
    return v;
  }

  time(name: string): Date | undefined {
    const v = this.values.get(name);
    if (v === undefined) return undefined;
    const ms = RFC3339.test(v) ? Date.parse(v.replace(" ", "T")) : Number.NaN;
    if (Number.isNaN(ms)) throw new BadParameter(name, `${JSON.stringify(v)} is not an RFC 3339 time such as 2025-12-08T20:58:46Z`);
    return new Date(ms);
  }

  int(name: string, min: number, max: number): number | undefined {
    const v = this.values.get(name);
    if (v === undefined) return undefined;
    if (!/^-?\d+$/.test(v) || Number(v) < min || Number(v) > max) {
      throw new BadParameter(name, `${JSON.stringify(v)} is not an integer from ${min} to ${max}`);
    }
    return Number(v);
  }

  limit(fallback = DEFAULT_LIMIT, name = "limit"): number {
    return this.int(name, 1, MAX_LIMIT) ?? fallback;
  }

  oneOf<T extends string>(name: string, values: readonly T[]): T | undefined {
    const v = this.values.get(name);
    if (v === undefined) return undefined;
    if (!values.includes(v as T)) throw new BadParameter(name, `${JSON.stringify(v)} is not one of ${values.join(", ")}`);
    return v as T;
  }

  /** since/until, with until later than since. */
  window(): { since?: Date; until?: Date } {
    const since = this.time("since");
    const until = this.time("until");
    if (since && until && since >= until) throw new BadParameter("until", "must be later than since");
    return { since, until };
  }

  cursor(): PagePosition | undefined {
    const v = this.values.get("cursor");
    return v === undefined ? undefined : decodeCursor(v);
  }

  /** A host name as given or as a URL would carry it (IDNs in punycode), lower case. */
  host(name: string): string | undefined {
    const v = this.text(name);
    if (v === undefined) return undefined;
    let host = "";
    try {
      host = new URL(`http://${v}/`).hostname.toLowerCase();
    } catch {
      // reported below
    }
    if (!host || /[/?#@:]/.test(v.replace(/^\[.*\]$/, ""))) throw new BadParameter(name, `${JSON.stringify(v)} is not a host name`);
    return host;
  }
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$/;

export const TIME_FIELDS = ["captured", "event"] as const satisfies readonly TimeField[];
export const DECISIONS = ["allow", "deny"] as const;

/** The parameters of the shared record filter (see LogFilter). */
export const FILTER_PARAMS = [
  "domain", "host", "owner", "workspace", "workspace_id", "process", "decision", "url_contains", "since", "until", "time",
] as const;

export function logFilter(p: Params): LogFilter {
  return {
    domain: p.host("domain"),
    host: p.host("host"),
    owner: p.text("owner"),
    workspace: p.text("workspace"),
    workspaceId: p.uuid("workspace_id"),
    process: p.text("process"),
    decision: p.oneOf("decision", DECISIONS),
    urlContains: p.text("url_contains"),
    ...p.window(),
    timeField: p.oneOf("time", TIME_FIELDS) ?? "captured",
  };
}

/** A filter as query parameters again (for links, export and paging); drops what is unset. */
export function filterToSearch(f: LogFilter): URLSearchParams {
  const s = new URLSearchParams();
  const set = (k: string, v: string | undefined) => {
    if (v !== undefined && v !== "") s.set(k, v);
  };
  set("domain", f.domain);
  set("host", f.host);
  set("owner", f.owner);
  set("workspace", f.workspace);
  set("workspace_id", f.workspaceId);
  set("process", f.process);
  set("decision", f.decision);
  set("url_contains", f.urlContains);
  set("since", f.since?.toISOString());
  set("until", f.until?.toISOString());
  if (f.timeField === "event") s.set("time", "event");
  return s;
}

export function encodeCursor(pos: PagePosition): string {
  return Buffer.from(JSON.stringify([pos.at, pos.id])).toString("base64url");
}

export function decodeCursor(v: string): PagePosition {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(v, "base64url").toString("utf8"));
    if (Array.isArray(parsed) && parsed.length === 2 && parsed.every(Number.isSafeInteger)) {
      return { at: parsed[0] as number, id: parsed[1] as number };
    }
  } catch {
    // reported below
  }
  throw new BadParameter("cursor", "is not a cursor this API returned (pass next_cursor unchanged)");
}

/** A session id in a path: boundary's sessions are UUIDs; anything else is a 400, not an empty list. */
export function sessionIdParam(v: string, name = "session_id"): string {
  if (!isUuid(v)) throw new BadParameter(name, `${JSON.stringify(v)} is not a UUID`);
  return v;
}

/** Timeseries buckets and the default window each shows. */
export const BUCKETS = {
  "1m": { ms: 60_000, defaultSpanMs: 60 * 60_000 },
  "1h": { ms: 3_600_000, defaultSpanMs: 24 * 3_600_000 },
  "1d": { ms: 86_400_000, defaultSpanMs: 30 * 86_400_000 },
} as const;
export type BucketName = keyof typeof BUCKETS;
export const MAX_BUCKETS = 2000;
