// The console's static files as strings, so the binary needs no files and
// works offline. Scripts are external files (the CSP forbids inline ones)
// and only ever set textContent: record values never pass through
// innerHTML. Served under /assets/<name> with long-lived caching, their
// names carry a content hash.
import { createHash } from "node:crypto";

const CSS = `
:root { color-scheme: light; --fg: #1d2430; --muted: #5b6577; --line: #dde2ea; --bg: #f6f7f9; --card: #fff;
  --allow: #2f7d4f; --allow-bg: #e4f4ea; --deny: #b42318; --deny-bg: #fde8e6; --accent: #2457c5; --gap-bg: #fff4d6; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
a { color: var(--accent); }
a:focus-visible, button:focus-visible, input:focus-visible, select:focus-visible { outline: 3px solid #f5b400; outline-offset: 1px; }
header.top { display: flex; align-items: center; gap: 20px; padding: 10px 24px; background: #18202e; color: #fff; }
header.top .brand { font-weight: 650; letter-spacing: .2px; }
header.top nav { display: flex; gap: 4px; flex: 1; }
header.top nav a { color: #cfd6e4; text-decoration: none; padding: 6px 10px; border-radius: 6px; }
header.top nav a[aria-current="page"], header.top nav a:hover { background: #2c3850; color: #fff; }
header.top .who { color: #cfd6e4; display: flex; gap: 10px; align-items: center; }
header.top form { margin: 0; }
header.top button { background: transparent; color: #cfd6e4; border: 1px solid #4a5874; border-radius: 6px; padding: 4px 10px; cursor: pointer; }
main { max-width: 1320px; margin: 0 auto; padding: 20px 24px 48px; }
h1 { font-size: 22px; margin: 4px 0 16px; }
h2 { font-size: 16px; margin: 0 0 10px; }
.muted { color: var(--muted); }
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(300px, 1fr)); gap: 16px; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 14px 16px; }
.totals { display: flex; gap: 28px; margin-bottom: 8px; }
.totals .n { font-size: 24px; font-weight: 650; display: block; }
.chart svg { width: 100%; height: auto; display: block; }
.chart .axis { display: flex; justify-content: space-between; color: var(--muted); font-size: 12px; }
.legend { display: flex; gap: 14px; font-size: 12px; color: var(--muted); }
.legend i { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 4px; vertical-align: -1px; }
.legend .a { background: var(--allow); } .legend .d { background: var(--deny); }
table { width: 100%; border-collapse: collapse; background: var(--card); }
th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-size: 12px; text-transform: uppercase; letter-spacing: .4px; color: var(--muted); font-weight: 600; position: sticky; top: 0; background: var(--card); }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td time { white-space: nowrap; }
.table-wrap { border: 1px solid var(--line); border-radius: 10px; overflow: auto; }
.table-wrap table { border: 0; }
td.url code { display: block; max-width: 46ch; overflow-wrap: anywhere; white-space: pre-wrap; font-size: 12.5px; }
code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 999px; font-size: 12px; font-weight: 600; }
.badge.allow { background: var(--allow-bg); color: var(--allow); }
.badge.deny { background: var(--deny-bg); color: var(--deny); }
.badge.warn { background: var(--gap-bg); color: #7a5200; }
tr.gap td { background: var(--gap-bg); color: #7a5200; font-weight: 600; }
form.filters { display: grid; grid-template-columns: repeat(auto-fill, minmax(170px, 1fr)); gap: 10px 12px; align-items: end;
  background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 12px 14px; margin-bottom: 14px; }
form.filters label { display: flex; flex-direction: column; font-size: 12px; color: var(--muted); gap: 3px; }
input, select { font: inherit; padding: 5px 8px; border: 1px solid #c3cad6; border-radius: 6px; background: #fff; color: var(--fg); }
.actions { display: flex; gap: 8px; align-items: center; flex-wrap: wrap; }
button.primary, a.button { font: inherit; background: var(--accent); color: #fff; border: 0; border-radius: 6px; padding: 6px 14px; cursor: pointer; text-decoration: none; display: inline-block; }
a.button.secondary { background: #e8edf6; color: var(--fg); }
.toolbar { display: flex; justify-content: flex-end; margin: -4px 0 10px; }
.pager { display: flex; justify-content: space-between; align-items: center; margin-top: 10px; }
.error { background: var(--deny-bg); color: var(--deny); border: 1px solid #f3b8b2; padding: 10px 14px; border-radius: 8px; margin-bottom: 14px; }
.empty { padding: 22px; text-align: center; color: var(--muted); }
.empty code { background: #eef1f6; padding: 2px 6px; border-radius: 4px; color: var(--fg); }
.login { max-width: 380px; margin: 12vh auto; }
.login form { display: flex; flex-direction: column; gap: 12px; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; margin: 0; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; overflow-wrap: anywhere; }
.live-status { font-size: 12px; color: var(--muted); }
.live-status[data-state="open"]::before { content: "● "; color: var(--allow); }
.live-status[data-state="error"]::before { content: "● "; color: var(--deny); }
tr.fresh td { animation: fresh 2s ease-out; }
@keyframes fresh { from { background: #fff2b3; } to { background: transparent; } }
.skip { position: absolute; left: -9999px; } .skip:focus { left: 8px; top: 8px; background: #fff; padding: 6px; z-index: 2; }
`;

/** Shows every <time datetime> in the browser's zone; its title keeps UTC. */
const TIME_JS = `
(function () {
  "use strict";
  var fmt = new Intl.DateTimeFormat(undefined, { year: "numeric", month: "short", day: "2-digit",
    hour: "2-digit", minute: "2-digit", second: "2-digit" });
  function localise(root) {
    var els = (root || document).querySelectorAll("time[datetime]");
    for (var i = 0; i < els.length; i++) {
      var d = new Date(els[i].getAttribute("datetime"));
      if (!isNaN(d.getTime())) els[i].textContent = fmt.format(d);
    }
  }
  window.boundaryLocalise = localise;
  document.addEventListener("DOMContentLoaded", function () { localise(document); });
})();
`;

/**
 * The live tail: follows /live/events (server-sent events) with the page's
 * filters and puts each new record at the top of the table. Builds cells
 * with textContent only; links point at this console's own pages.
 */
const LIVE_JS = `
(function () {
  "use strict";
  var body = document.getElementById("live-rows");
  var status = document.getElementById("live-status");
  if (!body || !status) return;
  var empty = document.getElementById("live-empty");
  var MAX_ROWS = 500;
  function text(tag, value, cls) {
    var el = document.createElement(tag);
    el.textContent = value;
    if (cls) el.className = cls;
    return el;
  }
  function filterLink(param, value) {
    var a = document.createElement("a");
    a.href = "/records?" + new URLSearchParams([[param, value]]).toString();
    a.textContent = value;
    return a;
  }
  function cell(child, cls) {
    var td = document.createElement("td");
    if (cls) td.className = cls;
    td.appendChild(child);
    return td;
  }
  function row(r) {
    var tr = document.createElement("tr");
    tr.className = "fresh";
    var t = document.createElement("time");
    t.setAttribute("datetime", r.captured_at);
    t.title = r.captured_at;
    t.textContent = r.captured_at;
    tr.appendChild(cell(t));
    tr.appendChild(cell(text("span", r.decision, "badge " + (r.decision === "deny" ? "deny" : "allow"))));
    tr.appendChild(cell(text("span", r.http_method)));
    tr.appendChild(cell(text("code", r.http_url), "url"));
    tr.appendChild(cell(r.domain ? filterLink("domain", r.domain) : text("span", "")));
    tr.appendChild(cell(filterLink("workspace", r.workspace_name)));
    tr.appendChild(cell(r.owner_name ? filterLink("owner", r.owner_name) : text("span", "")));
    tr.appendChild(cell(text("span", r.confined_process_name)));
    tr.appendChild(cell(text("span", String(r.sequence_number)), "num"));
    return tr;
  }
  var params = new URLSearchParams(location.search);
  params.set("after", body.getAttribute("data-after") || "0");
  var source = new EventSource("/live/events?" + params.toString());
  source.addEventListener("open", function () { status.dataset.state = "open"; status.textContent = "following new records"; });
  source.addEventListener("error", function () { status.dataset.state = "error"; status.textContent = "disconnected, retrying"; });
  source.addEventListener("record", function (e) {
    var r = JSON.parse(e.data);
    if (empty) { empty.remove(); empty = null; }
    body.insertBefore(row(r), body.firstChild);
    if (window.boundaryLocalise) window.boundaryLocalise(body.firstChild);
    while (body.children.length > MAX_ROWS) body.removeChild(body.lastChild);
  });
  source.addEventListener("problem", function (e) { status.dataset.state = "error"; status.textContent = e.data; source.close(); });
})();
`;

export interface Asset {
  path: string;
  type: string;
  body: string;
}

function asset(name: string, ext: string, type: string, body: string): Asset {
  const hash = createHash("sha256").update(body).digest("hex").slice(0, 10);
  return { path: `/assets/${name}.${hash}.${ext}`, type, body };
}

export const ASSETS = {
  css: asset("console", "css", "text/css; charset=utf-8", CSS),
  time: asset("time", "js", "text/javascript; charset=utf-8", TIME_JS),
  live: asset("live", "js", "text/javascript; charset=utf-8", LIVE_JS),
} as const;

export const ASSETS_BY_PATH = new Map(Object.values(ASSETS).map((a) => [a.path, a]));
