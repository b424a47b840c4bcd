// GET /api/v2/process/logs: exec records, newest first, for the query API's
// readers (admin token, a --users-file token or the console's cookie).
// Filters: workspace_id, owner (owner name), command (program base name,
// e.g. "curl"), since/until (RFC 3339, on the exec's event time: the kernel's
// clock on the workspace host), limit, and the opaque cursor of the previous
// page. A bad or unknown parameter is a 400 naming it, as in /api/v2/boundary/.
import { Hono } from "hono";
import { encodeCursor, Params } from "../query/params.ts";
import { notFound, onError, type QueryApiOptions, type ReaderEnv, requireReader } from "../query/routes.ts";
import type { ExecQuery, ProcessLogStore } from "./store.ts";

export interface ProcessQueryOptions extends Omit<QueryApiOptions, "store"> {
  store: ProcessLogStore;
}

/** The filters of exec records, shared with the console's Processes page. */
export const EXEC_FILTER_PARAMS = ["workspace_id", "owner", "command", "since", "until"] as const;
const LOG_PARAMETERS = [...EXEC_FILTER_PARAMS, "limit", "cursor"];

/** The exec filters in `p` (a bad one throws BadParameter naming it). */
export function execFilter(p: Params): Omit<ExecQuery, "limit" | "after"> {
  return { workspaceId: p.text("workspace_id"), owner: p.text("owner"), command: p.text("command"), ...p.window() };
}

export function createProcessQueryApi(opts: ProcessQueryOptions): Hono<ReaderEnv> {
  const api = new Hono<ReaderEnv>();
  api.use("*", requireReader(opts));
  api.onError(onError);
  api.get("/logs", async (c) => {
    const p = Params.of(c.req.url, LOG_PARAMETERS);
    const page = await opts.store.listExecs({ ...execFilter(p), limit: p.limit(), after: p.cursor() });
    return c.json({ execs: page.items, next_cursor: page.next ? encodeCursor(page.next) : null });
  });
  api.notFound(notFound);
  return api;
}
