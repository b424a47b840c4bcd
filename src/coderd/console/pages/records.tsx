// Records search: the filter form (state in the URL), a page of records
// newest first, a link to the next page, export buttons.
import type { FC } from "hono/jsx";
import type { StoredRecord } from "../../store/store.ts";
import { ExportLinks, FilterForm, type FilterValues } from "../components/filter-form.tsx";
import { Empty, ErrorBox, Layout } from "../components/layout.tsx";
import { RecordRow, RecordsTable } from "../components/records-table.tsx";

export const RecordsPage: FC<{ user: string; values: FilterValues; query: string; rows: StoredRecord[]; nextHref: string | null; error?: string }> = (d) => (
  <Layout title="Records" section="records" user={d.user}>
    <h1>Records</h1>
    <FilterForm action="/records" values={d.values} />
    {d.error && <ErrorBox message={d.error} />}
    {d.rows.length > 0 && <div class="toolbar"><ExportLinks query={d.query} /></div>}
    {d.rows.length === 0 && !d.error ? (
      <Empty>
        No record matches these filters. <code>domain</code> matches a host and its subdomains; try a wider time range or <a href="/records">clear the filters</a>.
      </Empty>
    ) : (
      <RecordsTable>{d.rows.map((r) => <RecordRow r={r} />)}</RecordsTable>
    )}
    <div class="pager">
      <span class="muted">{d.rows.length} records on this page, newest first</span>

      {d.nextHref && <a class="button secondary" href={d.nextHref} rel="next">Older records →</a>}
    </div>
  </Layout>
);
