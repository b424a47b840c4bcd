// `boundary-relay coderd` as a real child process: the compiled binary when
// BOUNDARY_RELAY_BIN names it (CI does), else `bun src/main.ts`. Start-up
// errors in the agents file (exit 2 naming entry and field), SIGHUP reload
// (good and bad), and a clean stop on SIGTERM.
import { afterEach, describe, expect, test } from "bun:test";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createIngestClient } from "../../src/rpc/index.ts";
import { createAgentIdentity, writeAgentsFile } from "../../src/dev/agents-file.ts";
import { type Child, startCli } from "../helpers/cli.ts";
import { AGENT_A, ADMIN, batch, log } from "./helpers.ts";
import { tempDir } from "../helpers/temp.ts";
import { until } from "../helpers/until.ts";

function run(args: string[], dir: string): Child {
  return startCli(["coderd", ...args], { HOME: dir, XDG_STATE_HOME: "" });
}

let dir = "";
let child: Child | undefined;
afterEach(async () => {
  if (child && child.proc.exitCode === null && child.proc.signalCode === null) {
    child.proc.kill("SIGKILL");
    await child.exited;
  }
  child = undefined;
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("coderd process", () => {
  test("an invalid agents file at start is exit 2 naming the entry and field", async () => {
    dir = tempDir("coderd-cli-").dir;
    const file = join(dir, "agents.yaml");
    writeFileSync(file, `agents:\n  - token: "a-long-enough-token-1"\n    workspace_id: 0f4c5d2e-8a7b-4c1d-9e3f-5a6b7c8d9e0f\n    workspace_name: ok\n    owner_name: x\n  - token: "another-long-token-2"\n    workspace_id: not-a-uuid\n    workspace_name: w\n    owner_name: y\n`);
    child = run(["--agents-file", file, "--db", `sqlite:${join(dir, "c.db")}`, "--http-listen", "127.0.0.1:0"], dir);
    expect(await child.exited).toBe(2);
    expect(child.stderr()).toContain("agents[1].workspace_id");
    expect(child.stderr()).toContain("must be a UUID");
  });

  test("SIGHUP reloads identities; a bad file at reload keeps the old ones and says why; SIGTERM stops", async () => {
    dir = tempDir("coderd-cli-").dir;
    const file = join(dir, "agents.yaml");
    writeAgentsFile(file, [AGENT_A.entry]);
    child = run(["--agents-file", file, "--db", `sqlite:${join(dir, "c.db")}`, "--http-listen", "127.0.0.1:0", "--admin-token", ADMIN], dir);
    const url = (await until(() => /listening on (http:\/\/\S+)/.exec(child!.stderr())?.[1], { what: "coderd to listen", timeoutMs: 30_000 }))!;
    const fresh = createAgentIdentity({ workspaceName: "new-ws" });
    const send = (token: string, seq: number) =>
      createIngestClient({ baseUrl: url, token }).reportBoundaryLogs(batch([log(seq, true, "https://hup.example/")], "30000000-0000-4000-8000-000000000001")).then(() => "ok", (e) => String(e.code));

    expect(await send(fresh.token, 0)).toBe("16"); // unauthenticated: not known yet
    writeAgentsFile(file, [AGENT_A.entry, fresh.entry]);
    child.proc.kill("SIGHUP");
    await until(() => child!.stderr().includes("2 agent identities"), { what: "the reload", timeoutMs: 15_000 });
    expect(await send(fresh.token, 0)).toBe("ok");

    writeFileSync(file, "agents:\n  - workspace_id: 0f4c5d2e-8a7b-4c1d-9e3f-5a6b7c8d9e0f\n");
    child.proc.kill("SIGHUP");
    await until(() => child!.stderr().includes("keeping the previous identities"), { what: "the failed reload", timeoutMs: 15_000 });
    expect(child.stderr()).toContain("agents[0].token");
    expect(await send(fresh.token, 1)).toBe("ok");
    expect(await send(AGENT_A.token, 2)).toBe("ok");
    expect(child.stderr()).toContain("workspace_name=new-ws");

    const logs = await (await fetch(`${url}/api/v2/boundary/logs`, { headers: { Authorization: `Bearer ${ADMIN}` } })).json();
    expect(logs.logs.length).toBe(3);
    child.proc.kill("SIGTERM");
    expect(await child.exited).toBe(0);
    expect(child.stderr()).toContain("stopped");
  });
});
