// The live tail: the latest records, then new ones as they are stored
// (live.js follows /live/events). Same filters as the records page.
import type { FC } from "hono/jsx";
import type { StoredRecord } from "../../store/store.ts";
import { ASSETS } from "../assets.ts";
import { FilterForm, type FilterValues } from "../components/filter-form.tsx";
import { Empty, ErrorBox, Layout } from "../components/layout.tsx";
import { RecordRow, RecordsTable } from "../components/records-table.tsx";

export const LivePage: FC<{ user: string; values: FilterValues; rows: StoredRecord[]; after: number; error?: string }> = (d) => (
  <Layout title="Live" section="live" user={d.user} scripts={[ASSETS.live.path]}>
    <h1>Live <span id="live-status" class="live-status" data-state="connecting" role="status" aria-live="polite">connecting…</span></h1>
    <FilterForm action="/live" values={d.values} />
    {d.error && <ErrorBox message={d.error} />}
    <RecordsTable id="live-rows" after={d.after} showSession={false}>
      {d.rows.map((r) => <RecordRow r={r} showSession={false} />)}
    </RecordsTable>
    {d.rows.length === 0 && <div id="live-empty"><Empty>Waiting for records. New ones appear here within a second of reaching coderd.</Empty></div>}
  </Layout>
);
