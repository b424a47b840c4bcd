// The overview: allow/deny over time, top denied domains, workspaces with
// the most denials, agents last seen.
import type { FC } from "hono/jsx";
import type { AgentLastSeen, TimeseriesPoint } from "../../store/store.ts";
import { Chart } from "../components/chart.tsx";
import { Empty, FilterLink, Layout, Time } from "../components/layout.tsx";

export const RANGES = { "24h": { label: "24 hours", bucket: "1h" }, "7d": { label: "7 days", bucket: "1h" }, "30d": { label: "30 days", bucket: "1d" } } as const;
export type RangeName = keyof typeof RANGES;

export interface OverviewData {
  user: string;
  range: RangeName;
  since: string;
  points: TimeseriesPoint[];
  topDomains: { value: string; count: number }[];
  topWorkspaces: { value: string; count: number }[];
  agents: AgentLastSeen[];
  coderdUrl: string;
}

const TopList: FC<{ rows: { value: string; count: number }[]; param: string; since: string; empty: string }> = ({ rows, param, since, empty }) =>
  rows.length === 0 ? <Empty>{empty}</Empty> : (
    <table>
      <tbody>
        {rows.map((r) => (
          <tr><td><FilterLink param={param} value={r.value} extra={{ decision: "deny", since }} /></td><td class="num">{r.count}</td></tr>
        ))}
      </tbody>
    </table>
  );

export const OverviewPage: FC<OverviewData> = (d) => {
  const allowed = d.points.reduce((s, p) => s + p.allowed, 0);
  const denied = d.points.reduce((s, p) => s + p.denied, 0);
  return (
    <Layout title="Overview" section="overview" user={d.user}>
      <div class="actions">
        <h1>Overview, last {RANGES[d.range].label}</h1>
        <nav aria-label="Time range" class="actions">
          {(Object.keys(RANGES) as RangeName[]).map((r) => (
            <a class={`button ${r === d.range ? "" : "secondary"}`} href={`/?range=${r}`} aria-current={r === d.range ? "true" : undefined}>{r}</a>
          ))}
        </nav>
      </div>
      {d.agents.length === 0 && (
        <div class="card">
          <Empty>
            <p><strong>No agent has reported yet.</strong></p>
            <p>Start one in a workspace, next to boundary: <code>{`boundary-relay agent --coderd-url ${d.coderdUrl} --agent-token <token from --agents-file>`}</code></p>
            <p>Or try everything on one machine: <code>boundary-relay dev</code>, then <code>boundary-relay send --demo</code>.</p>
          </Empty>
        </div>
      )}
      <section class="card" aria-labelledby="traffic">
        <h2 id="traffic">Requests</h2>
        <div class="totals">
          <span><span class="n">{allowed.toLocaleString("en-US")}</span><span class="muted">allowed</span></span>
          <span><a href={`/records?${new URLSearchParams({ decision: "deny", since: d.since })}`}><span class="n">{denied.toLocaleString("en-US")}</span></a><span class="muted">denied</span></span>
        </div>
        <Chart points={d.points} bucketLabel={RANGES[d.range].bucket === "1h" ? "hour" : "day"} />
      </section>
      <div class="grid">
        <section class="card" aria-labelledby="top-denied">
          <h2 id="top-denied">Top denied domains</h2>
          <TopList rows={d.topDomains} param="domain" since={d.since} empty="Nothing denied in this range." />
        </section>
        <section class="card" aria-labelledby="top-ws">
          <h2 id="top-ws">Workspaces with the most denials</h2>
          <TopList rows={d.topWorkspaces} param="workspace" since={d.since} empty="Nothing denied in this range." />
        </section>
        <section class="card" aria-labelledby="agents">
          <h2 id="agents">Agents last seen</h2>
          {d.agents.length === 0 ? <Empty>No agent yet.</Empty> : (
            <table>
              <tbody>
                {d.agents.map((a) => (
                  <tr>
                    <td><FilterLink param="workspace" value={a.workspace_name} /> <span class="muted">{a.agent_name}</span></td>
                    <td>{a.owner_name}</td>
                    <td><Time iso={a.last_seen} /></td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </section>
      </div>
    </Layout>
  );
};
