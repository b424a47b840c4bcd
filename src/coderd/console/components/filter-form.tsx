// The record filters as a GET form: its state is the URL, so a filtered
// view is a link to share. Values are echoed back as input values (escaped).
import type { FC } from "hono/jsx";

export type FilterValues = Partial<Record<string, string>>;

const TEXT_FIELDS: [string, string, string][] = [
  ["domain", "Domain (and subdomains)", "pastebin.com"],
  ["host", "Exact host", "www.pastebin.com"],
  ["workspace", "Workspace", "alice-dev"],
  ["owner", "Owner", "alice"],
  ["process", "Process", "claude"],
  ["url_contains", "URL contains", "/api/"],
  ["since", "Since (RFC 3339)", "2025-12-08T00:00:00Z"],
  ["until", "Until (RFC 3339)", "2025-12-09T00:00:00Z"],
];

/** Labelled text inputs, [name, label, placeholder] each, holding the values given (escaped). */
export const TextInputs: FC<{ fields: [string, string, string][]; values: FilterValues }> = ({ fields, values }) => (
  <>
    {fields.map(([name, label, placeholder]) => (
      <label>
        {label}
        <input type="text" name={name} value={values[name] ?? ""} placeholder={placeholder} autocomplete="off" />
      </label>
    ))}
  </>
);

export const FilterForm: FC<{ action: string; values: FilterValues }> = (props) => (
  <form class="filters" method="get" action={props.action} role="search" aria-label="Filter records">
    <TextInputs fields={TEXT_FIELDS} values={props.values} />
    <label>
      Decision
      <select name="decision">
        {[["", "any"], ["deny", "deny"], ["allow", "allow"]].map(([v, l]) => (
          <option value={v} selected={(props.values.decision ?? "") === v}>{l}</option>
        ))}
      </select>
    </label>
    <label>
      Times are
      <select name="time">
        {[["", "received by coderd"], ["event", "event time (boundary)"]].map(([v, l]) => (
          <option value={v} selected={(props.values.time ?? "") === v}>{l}</option>
        ))}
      </select>
    </label>
    {props.values.workspace_id && <input type="hidden" name="workspace_id" value={props.values.workspace_id} />}
    <div class="actions">
      <button class="primary" type="submit">Apply</button>
      <a class="button secondary" href={props.action}>Clear</a>
    </div>
  </form>
);

/** Download links for the records a filter selects (the JSON API's streamed export, which takes the console cookie). */
export const ExportLinks: FC<{ query: string }> = ({ query }) => (
  <div class="actions">
    <span class="muted">Export these records:</span>
    <a class="button secondary" href={`/api/v2/boundary/export?${query ? `${query}&` : ""}format=csv`} download>CSV</a>
    <a class="button secondary" href={`/api/v2/boundary/export?${query ? `${query}&` : ""}format=ndjson`} download>NDJSON</a>
  </div>
);
