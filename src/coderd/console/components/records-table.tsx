// A table of records. Every cell is text (escaped by JSX); the URL is shown
// as code, never linked; domain, workspace and session link to this
// console's pages with the value as an encoded parameter.
import type { Child, FC } from "hono/jsx";
import { isUuid } from "../../identities.ts";
import type { StoredRecord } from "../../store/store.ts";
import { Decision, FilterLink, Time } from "./layout.tsx";

export const RecordRow: FC<{ r: StoredRecord; showSession?: boolean }> = ({ r, showSession = true }) => (
  <tr>
    <td><Time iso={r.captured_at} /></td>
    <td><Decision decision={r.decision} /></td>
    <td>{r.http_method}</td>
    <td class="url"><code title={r.matched_rule ? `rule: ${r.matched_rule}` : undefined}>{r.http_url}</code></td>
    <td><FilterLink param="domain" value={r.domain} /></td>
    <td><FilterLink param="workspace" value={r.workspace_name} /></td>
    <td><FilterLink param="owner" value={r.owner_name} /></td>
    <td>{r.confined_process_name}</td>
    {showSession && (
      <td>
        {isUuid(r.session_id) ? <a href={`/sessions/${encodeURIComponent(r.session_id)}`}>{r.session_id.slice(0, 8)}</a> : <span class="muted">–</span>}
      </td>
    )}
    <td class="num">{r.sequence_number}</td>
  </tr>
);

export const RecordsTable: FC<{ id?: string; after?: number; showSession?: boolean; children?: Child }> = (props) => (
  <div class="table-wrap">
    <table>
      <thead>
        <tr>
          <th scope="col">Received</th>
          <th scope="col">Decision</th>
          <th scope="col">Method</th>
          <th scope="col">URL</th>
          <th scope="col">Domain</th>
          <th scope="col">Workspace</th>
          <th scope="col">Owner</th>
          <th scope="col">Process</th>
          {props.showSession !== false && <th scope="col">Session</th>}
          <th scope="col" class="num">Seq</th>
        </tr>
      </thead>
      <tbody id={props.id} data-after={props.after === undefined ? undefined : String(props.after)}>{props.children}</tbody>
    </table>
  </div>
);
