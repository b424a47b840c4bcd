// Streamed export of filtered records as CSV or NDJSON. Pages of EXPORT_PAGE
// records are read newest first with the keyset cursor and written as they
// are read, so memory stays flat whatever the size; a client that stops
// reading stops the reads (the stream is pulled). Records stored while an
// export runs may or may not appear in it; none appears twice.
// CSV: RFC 4180 quoting; a cell that a spreadsheet would run as a formula
// (starting with = + - @ tab or CR) is prefixed with ' so that opening the
// file never executes attacker-written text.
import type { LogFilter, PagePosition, Store, StoredRecord } from "../store/store.ts";

export const EXPORT_FORMATS = ["csv", "ndjson"] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];
const EXPORT_PAGE = 1000;

export const CSV_COLUMNS = [
  "captured_at", "event_time", "decision", "http_method", "http_url", "domain", "matched_rule", "session_id",
  "sequence_number", "workspace_id", "workspace_name", "owner_name", "agent_name", "confined_process_name",
] as const satisfies readonly (keyof StoredRecord)[];

export function csvCell(value: string | number): string {
  let s = String(value);
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

const csvRow = (r: StoredRecord) => `${CSV_COLUMNS.map((c) => csvCell(r[c])).join(",")}\r\n`;

export function exportStream(store: Store, filter: LogFilter, format: ExportFormat): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  let after: PagePosition | undefined;
  let started = false;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      let text = "";
      if (!started && format === "csv") text += `${CSV_COLUMNS.join(",")}\r\n`;
      started = true;
      const page = await store.searchLogs({ ...filter, limit: EXPORT_PAGE, after });
      for (const r of page.items) text += format === "csv" ? csvRow(r) : `${JSON.stringify(r)}\n`;
      if (text) controller.enqueue(encoder.encode(text));
      if (page.next) after = page.next;
      else controller.close();
    },
  }, { highWaterMark: 1 });
}
