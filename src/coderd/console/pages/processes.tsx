// Processes: exec records (workspace process logging) newest first, with
// the filters of GET /api/v2/process/logs (workspace id, owner, command,
// event-time window) as a GET form, so a filtered view is a shareable link,
// and a link to the next page. argv is attacker-controlled: shown as
// escaped text in <code>, never linked; workspace and owner link to this
// page filtered by the value (an encoded parameter).
import type { FC } from "hono/jsx";
import type { StoredExec } from "../../process/store.ts";
import { type FilterValues, TextInputs } from "../components/filter-form.tsx";
import { Empty, ErrorBox, Layout, Time } from "../components/layout.tsx";

const FIELDS: [string, string, string][] = [
  ["workspace_id", "Workspace id", "0f4c5d2e-8a7b-4c1d-9e3f-5a6b7c8d9e0f"],
  ["owner", "Owner", "alice"],
  ["command", "Command (program name)", "curl"],
  ["since", "Since (RFC 3339, event time)", "2025-12-08T00:00:00Z"],
  ["until", "Until (RFC 3339, event time)", "2025-12-09T00:00:00Z"],
];

const ExecFilterForm: FC<{ values: FilterValues }> = ({ values }) => (
  <form class="filters" method="get" action="/processes" role="search" aria-label="Filter processes">
    <TextInputs fields={FIELDS} values={values} />
    <div class="actions">
      <button class="primary" type="submit">Apply</button>
      <a class="button secondary" href="/processes">Clear</a>
    </div>
  </form>
);

const ProcessLink: FC<{ param: string; value: string; label?: string }> = ({ param, value, label }) =>
  value === "" ? <span class="muted">–</span> : <a href={`/processes?${new URLSearchParams({ [param]: value })}`}>{label ?? value}</a>;

const ExecRow: FC<{ e: StoredExec }> = ({ e }) => (
  <tr>
    <td><Time iso={e.event_time} /></td>
    <td><ProcessLink param="workspace_id" value={e.workspace_id} label={e.workspace_name || e.workspace_id} /></td>
    <td><ProcessLink param="owner" value={e.owner_name} /></td>
    <td><ProcessLink param="command" value={e.command} /></td>
    <td class="url">
      {e.cmdline ? <code title={e.filename ? `file: ${e.filename}` : undefined}>{e.cmdline}</code> : <span class="muted">argv not read (the process was gone)</span>}
    </td>
    <td class="num">{e.pid}</td>
    <td class="num">{e.ppid || <span class="muted">–</span>}</td>
    <td class="num">{e.uid}</td>
    <td>{e.truncated ? <span class="badge deny" title="the process was gone, or argv was cut, before /proc could be read">truncated</span> : <span class="muted">complete</span>}</td>
  </tr>
);

export const ProcessesPage: FC<{ user: string; values: FilterValues; rows: StoredExec[]; nextHref: string | null; error?: string }> = (d) => (
  <Layout title="Processes" section="processes" user={d.user}>
    <h1>Processes</h1>
    <p class="muted">Every exec the agents' <code>--process-log</code> recorded in their workspaces, newest first by the kernel's event time.</p>
    <ExecFilterForm values={d.values} />
    {d.error && <ErrorBox message={d.error} />}
    {d.rows.length === 0 && !d.error ? (
      <Empty>
        No exec matches these filters. <code>command</code> is the program's name (e.g. <code>curl</code>); try a wider time range or{" "}
        <a href="/processes">clear the filters</a>.
      </Empty>
    ) : (
      <div class="table-wrap">
        <table>
          <thead>
            <tr>
              <th scope="col">Event time</th>
              <th scope="col">Workspace</th>
              <th scope="col">Owner</th>
              <th scope="col">Command</th>
              <th scope="col">Command line</th>
              <th scope="col" class="num">PID</th>
              <th scope="col" class="num">PPID</th>
              <th scope="col" class="num">UID</th>
              <th scope="col">Read</th>
            </tr>
          </thead>
          <tbody>{d.rows.map((e) => <ExecRow e={e} />)}</tbody>
        </table>
      </div>
    )}
    <div class="pager">
      <span class="muted">{d.rows.length} execs on this page, newest first</span>
      {d.nextHref && <a class="button secondary" href={d.nextHref} rel="next">Older execs →</a>}
    </div>
  </Layout>
);
