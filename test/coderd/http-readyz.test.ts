import { afterEach, expect, test } from "bun:test";
import { startTestServer, type TestServer } from "./helpers.ts";

let t: TestServer | null = null;
afterEach(async () => {
  await t?.close();
  t = null;
});

test("coderd's /readyz answers the agent's JSON shape: ready, a text reason, details", async () => {
  t = await startTestServer();
  const ready = await fetch(`${t.server.url}/readyz`);
  expect(ready.status).toBe(200);
  expect(ready.headers.get("content-type")).toContain("application/json");
  expect(await ready.json()).toEqual({ ready: true, reason: "ready", details: { store: "ok", agent_identities: 2 } });
});
