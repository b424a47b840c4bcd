// Sessions newest first, each with its counts and completeness.
import type { FC } from "hono/jsx";
import type { SessionSummary } from "../../store/store.ts";
import { Empty, ErrorBox, FilterLink, Layout, Time } from "../components/layout.tsx";

export const Completeness: FC<{ s: SessionSummary }> = ({ s }) =>
  s.missing === 0 ? <span class="badge allow">whole</span> : (
    <span class="badge warn">{`${s.missing} missing in ${s.gaps.length}${s.gaps.length >= 50 ? "+" : ""} gap${s.gaps.length === 1 ? "" : "s"}`}</span>
  );

export const SessionsPage: FC<{ user: string; sessions: SessionSummary[]; nextHref: string | null; workspaceId?: string; error?: string }> = (d) => (
  <Layout title="Sessions" section="sessions" user={d.user}>
    <h1>Sessions{d.workspaceId ? " of one workspace" : ""}</h1>
    {d.error && <ErrorBox message={d.error} />}
    {d.sessions.length === 0 ? (
      <Empty>No session yet. A session appears when an agent forwards boundary's first records with a session id.</Empty>
    ) : (
      <div class="table-wrap">
        <table>
          <thead>
            <tr>
              <th scope="col">Session</th><th scope="col">Started</th><th scope="col">Last record</th><th scope="col">Workspace</th>
              <th scope="col">Owner</th><th scope="col">Process</th><th scope="col" class="num">Records</th>
              <th scope="col" class="num">Denied</th><th scope="col">Completeness</th>
            </tr>
          </thead>
          <tbody>
            {d.sessions.map((s) => (
              <tr>
                <td><a href={`/sessions/${encodeURIComponent(s.session_id)}`}><code>{s.session_id.slice(0, 8)}</code></a></td>
                <td><Time iso={s.started_at} /></td>
                <td><Time iso={s.updated_at} /></td>
                <td><FilterLink param="workspace" value={s.workspace_name} /></td>
                <td>{s.owner_name}</td>
                <td>{s.confined_process_name}</td>
                <td class="num">{s.records}</td>
                <td class="num">{s.denied}</td>
                <td><Completeness s={s} /></td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    )}
    <div class="pager"><span></span>{d.nextHref && <a class="button secondary" href={d.nextHref} rel="next">Older sessions →</a>}</div>
  </Layout>
);
