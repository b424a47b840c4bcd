// The console served by a real coderd, read as HTML: sign-in and its
// cookie, the CSP, hostile record values escaped and never linked, gap rows,
// users from --users-file named in the log.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { sha256Hex } from "../../../src/coderd/identities/table.ts";
import { ADMIN, AGENT_A, batch, log, startTestServer, type TestServer } from "../helpers.ts";
import { tempDir } from "../../helpers/temp.ts";

const GAPPY = "30000000-0000-4000-8000-000000000001";
const HOSTILE = ["https://x/<script>alert(1)</script>", "javascript:alert(1)", 'https://x/"><img src=x onerror=alert(1)>'];
let t: TestServer;
let cookie = "";

async function signIn(token: string): Promise<Response> {
  return fetch(`${t.server.url}/login`, {
    method: "POST", redirect: "manual", body: new URLSearchParams({ token, next: "/records" }),
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
  });
}
const get = (path: string, c = cookie) => fetch(`${t.server.url}${path}`, { headers: c ? { Cookie: c } : {}, redirect: "manual" });

beforeAll(async () => {
  const { dir } = tempDir("coderd-console-"); // t.close() removes it
  const usersFile = join(dir, "users.yaml");
  writeFileSync(usersFile, `users:\n  - name: carol\n    token_sha256: ${sha256Hex("carol-token-000000000000")}\n`);
  t = await startTestServer(["--users-file", usersFile], { dir });
  const seqs = [...Array.from({ length: 10 }, (_, i) => i), ...Array.from({ length: 5 }, (_, i) => 20 + i)];
  await t.client(AGENT_A.token).reportBoundaryLogs(batch(seqs.map((s) => log(s, true, `https://github.com/${s}`)), GAPPY));
  await t.client(AGENT_A.token).reportBoundaryLogs(batch(HOSTILE.map((u, i) => log(i, false, u)), "30000000-0000-4000-8000-000000000002", "<b>proc</b>"));
  const res = await signIn(ADMIN);
  cookie = (res.headers.get("set-cookie") ?? "").split(";")[0]!;
});
afterAll(async () => {
  await t.close();
});

describe("sign-in", () => {
  test("the admin token gives an HttpOnly, SameSite=Strict cookie (not Secure over plain HTTP) and returns to next", async () => {
    const res = await signIn(ADMIN);
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/records");
    const set = res.headers.get("set-cookie") ?? "";
    expect(set).toContain("HttpOnly");
    expect(set).toContain("SameSite=Strict");
    expect(set).not.toContain("Secure");
  });

  test("a wrong token is refused; pages without the cookie go to /login; the API takes the cookie", async () => {
    const bad = await signIn("not-the-token");
    expect(bad.status).toBe(401);
    expect(bad.headers.get("set-cookie")).toBeNull();
    const anon = await get("/records", "");
    expect(anon.status).toBe(303);
    expect(anon.headers.get("location")).toStartWith("/login?next=");
    expect((await get("/records", "boundary_relay_session=v1.admin.99999999999999.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")).status).toBe(303);
    expect((await get("/api/v2/boundary/logs")).status).toBe(200);
  });

  test("a --users-file user signs in; sign-in and queries are logged with the name", async () => {
    const res = await signIn("carol-token-000000000000");
    const carol = (res.headers.get("set-cookie") ?? "").split(";")[0]!;
    expect(await (await get("/", carol)).text()).toContain("carol");
    await get("/api/v2/boundary/logs?domain=github.com", carol);
    const text = t.writes.join("");
    expect(text).toContain("console: sign-in user=carol");
    expect(text).toContain('query user=carol path="/api/v2/boundary/logs?domain=github.com"');
  });
});

describe("pages", () => {
  test("every page is 200 with a strict CSP and no inline script", async () => {
    for (const path of ["/", "/records", "/sessions", `/sessions/${GAPPY}`, "/live", "/login"]) {
      const res = await get(path);
      expect(res.status).toBe(200);
      const csp = res.headers.get("content-security-policy") ?? "";
      expect(csp).toContain("script-src 'self'");
      expect(csp).not.toContain("unsafe-inline");
      const html = await res.text();
      expect(html).not.toMatch(/<script(?![^>]*\ssrc=)[^>]*>/);
      expect(html).not.toMatch(/<[^>]*\son[a-z]+=/i); // no event-handler attribute
    }
  });

  test("hostile URLs and names are escaped text, never a link", async () => {
    const html = await (await get("/records?decision=deny")).text();
    expect(html).toContain("https://x/&lt;script&gt;alert(1)&lt;/script&gt;");
    expect(html).not.toContain("<script>alert(1)");
    expect(html).not.toContain("<img src=x");
    expect(html).toContain("&lt;b&gt;proc&lt;/b&gt;");
    expect(html).not.toMatch(/href="javascript:/i);
    expect(html).not.toMatch(/href="https?:/i);
  });

  test("a session with a gap shows the missing run as a row", async () => {
    const html = await (await get(`/sessions/${GAPPY}`)).text();
    expect(html).toContain("10 records missing (seq 10–19)");
    expect((await (await get("/sessions")).text())).toContain("10 missing in 1 gap");
  });

  test("a bad filter names its parameter on the page with status 400", async () => {
    const res = await get("/records?since=yesterday");
    expect(res.status).toBe(400);
    expect(await res.text()).toContain("since: &quot;yesterday&quot; is not an RFC 3339 time");
  });
});
