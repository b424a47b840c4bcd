// GET /api/v2/process/logs: exec records, newest first, admin token only
// (the query API's gate). Filters: workspace_id, owner (owner name),
// command (program base name, e.g. "curl"), since/until (RFC 3339, on the
// exec's event time: the kernel's clock on the workspace host), limit, and
// the opaque cursor of the previous page. A bad or unknown parameter is a
// 400 naming it, as in /api/v2/boundary/.
import { Hono } from "hono";
import { BadParameter, cursor, encodeCursor, limit, nonEmpty, params, type QueryApiOptions, requireAdmin, window } from "../query-api.ts";
import type { ProcessLogStore } from "./store.ts";

export interface ProcessQueryOptions extends Omit<QueryApiOptions, "store"> {
  store: ProcessLogStore;
}

const LOG_PARAMETERS = ["workspace_id", "owner", "command", "since", "until", "limit", "cursor"];

export function createProcessQueryApi(opts: ProcessQueryOptions): Hono {
  const api = new Hono();
  api.use("*", requireAdmin(opts));
  api.onError((err, c) => {
    if (err instanceof BadParameter) return c.json({ message: err.message, parameter: err.parameter }, 400);
    return c.json({ message: `store unavailable: ${err.message}` }, 503);
  });
  api.get("/logs", async (c) => {
    const p = params(c, LOG_PARAMETERS);
    const page = await opts.store.listExecs({
      workspaceId: nonEmpty(p, "workspace_id"),
      owner: nonEmpty(p, "owner"),
      command: nonEmpty(p, "command"),
      ...window(p),
      limit: limit(p),
      after: cursor(p),
    });
    return c.json({ execs: page.items, next_cursor: page.next ? encodeCursor(page.next) : null });
  });
  api.notFound((c) => c.json({ message: `no such endpoint: ${c.req.method} ${new URL(c.req.url).pathname}` }, 404));
  return api;
}
