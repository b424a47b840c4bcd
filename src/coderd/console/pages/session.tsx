// One session: who, how whole, and its records in sequence order with each
// gap as a row "N records missing (seq a–b)".
import type { Child, FC } from "hono/jsx";
import type { SessionSummary, StoredRecord } from "../../store/store.ts";
import { Empty, FilterLink, Layout, Time } from "../components/layout.tsx";
import { RecordRow, RecordsTable } from "../components/records-table.tsx";
import { Completeness } from "./sessions.tsx";

/** Records in sequence order with a row for each run of missing sequence numbers after `afterSeq`. */
export function withGaps(rows: StoredRecord[], afterSeq: number): ({ kind: "record"; r: StoredRecord } | { kind: "gap"; from: number; to: number })[] {
  const out: ({ kind: "record"; r: StoredRecord } | { kind: "gap"; from: number; to: number })[] = [];
  let expected = afterSeq + 1;
  for (const r of rows) {
    if (r.sequence_number > expected) out.push({ kind: "gap", from: expected, to: r.sequence_number - 1 });
    out.push({ kind: "record", r });
    expected = Math.max(expected, r.sequence_number + 1);
  }
  return out;
}

const GapRow: FC<{ from: number; to: number }> = ({ from, to }) => {
  const n = to - from + 1;
  return (
    <tr class="gap">
      <td colspan={9}>{`${n} record${n === 1 ? "" : "s"} missing (seq ${from === to ? from : `${from}–${to}`})`}</td>
    </tr>
  );
};

export const SessionPage: FC<{ user: string; s: SessionSummary; rows: StoredRecord[]; afterSeq: number; nextHref: string | null; children?: Child }> = (d) => (
  <Layout title={`Session ${d.s.session_id}`} section="sessions" user={d.user}>
    <h1>Session <code>{d.s.session_id}</code></h1>
    <div class="grid">
      <section class="card">
        <dl class="facts">
          <dt>Workspace</dt><dd><FilterLink param="workspace_id" value={d.s.workspace_id} /> <span class="muted">{d.s.workspace_name}</span> · <a href={`/sessions?${new URLSearchParams({ workspace_id: d.s.workspace_id })}`}>its sessions</a></dd>
          <dt>Owner</dt><dd>{d.s.owner_name}</dd>
          <dt>Agent</dt><dd>{d.s.agent_name || d.s.agent_id}</dd>
          <dt>Process</dt><dd>{d.s.confined_process_name || <span class="muted">not given</span>}</dd>
          <dt>Started</dt><dd><Time iso={d.s.started_at} /></dd>
          <dt>Last record</dt><dd><Time iso={d.s.updated_at} /></dd>
        </dl>
      </section>
      <section class="card">
        <dl class="facts">
          <dt>Records</dt><dd>{d.s.records} ({d.s.allowed} allowed, {d.s.denied} denied)</dd>
          <dt>Sequence</dt><dd>{d.s.last_seq === null ? "–" : `0 to ${d.s.last_seq}`}</dd>
          <dt>Completeness</dt><dd><Completeness s={d.s} />{d.s.missing > 0 && ` ${d.s.missing} sequence numbers never arrived`}</dd>
          <dt>Dropped by boundary</dt>
          <dd class="muted">not known here: boundary reports its own drops in status frames, which the agent counts
            (<code>agent_boundary_log_proxy_logs_dropped_total</code>, reasons boundary_channel_full and boundary_batch_full) but does not forward</dd>
        </dl>
      </section>
    </div>
    <h2>Records in sequence order</h2>
    {d.rows.length === 0 ? <Empty>No records{d.afterSeq >= 0 ? ` after seq ${d.afterSeq}` : ""}.</Empty> : (
      <RecordsTable showSession={false}>
        {withGaps(d.rows, d.afterSeq).map((item) => (item.kind === "gap" ? <GapRow from={item.from} to={item.to} /> : <RecordRow r={item.r} showSession={false} />))}
      </RecordsTable>
    )}
    <div class="pager"><span></span>{d.nextHref && <a class="button secondary" href={d.nextHref} rel="next">Next records →</a>}</div>
  </Layout>
);
