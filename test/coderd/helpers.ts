// Starts a real coderd (HTTP on 127.0.0.1:0, SQLite file in a temp dir)
// with two agents in different workspaces, and captures its stderr.
import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { coderdOptions, type CoderdConfig } from "../../src/config/coderd.ts";
import { loadConfig } from "../../src/config/load.ts";
import { createIngestClient } from "../../src/rpc/index.ts";
import type { AgentEntry } from "../../src/coderd/identities/schema.ts";
import { sha256Hex } from "../../src/coderd/identities/table.ts";
import { writeAgentsFile } from "../../src/dev/agents-file.ts";
import { type CoderdHandle, startCoderd } from "../../src/coderd/server.ts";
import { SqliteStore } from "../../src/coderd/store/sqlite.ts";
import type { NewRecord } from "../../src/coderd/store/store.ts";
import type { AgentIdentity } from "../../src/record/identity.ts";
import { tempDir } from "../helpers/temp.ts";
import {
  type BoundaryLog, BoundaryLogSchema, type ReportBoundaryLogsRequest, ReportBoundaryLogsRequestSchema,
} from "../../src/gen/coder/agent/v2/boundary_pb.ts";

export const ADMIN = "admin-token-for-tests-0001";

export const AGENT_A = {
  token: "agent-a-token-0123456789",
  entry: {
    token: "agent-a-token-0123456789",
    agent_id: "6b0b6f1a-6a54-4f1f-9d53-2a4b0a3c9e11",
    agent_name: "main",
    workspace_id: "0f4c5d2e-8a7b-4c1d-9e3f-5a6b7c8d9e0f",
    workspace_name: "alice-dev",
    owner_id: "3a2b1c0d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
    owner_name: "alice",
    template_id: "7c6d5e4f-3a2b-4c1d-8e9f-0a1b2c3d4e5f",
    template_version_id: "1d2c3b4a-5f6e-4d7c-9b8a-7f6e5d4c3b2a",
  } satisfies AgentEntry,
};

export const AGENT_B = {
  token: "agent-b-token-9876543210",
  entry: {
    token_sha256: sha256Hex("agent-b-token-9876543210"),
    workspace_id: "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee",
    workspace_name: "bob-ws",
    owner_name: "bob",
  } satisfies AgentEntry,
};

export class TestClock {
  constructor(public ms: number) {}
  now = () => new Date(this.ms);
  advance(ms: number) {
    this.ms += ms;
  }
}

export interface TestServer {
  dir: string;
  dbPath: string;
  agentsFile: string;
  server: CoderdHandle;
  /** Every chunk written to the server's stderr. */
  writes: string[];
  lines(): string[];
  admin(path: string, token?: string): Promise<Response>;
  adminJson<T = any>(path: string): Promise<T>;
  /** An ingest client whose calls resolve once the lines of what they stored are written. */
  client(token?: string | null, binary?: boolean): Pick<ReturnType<typeof createIngestClient>, "reportBoundaryLogs" | "reportProcessLogs">;
  close(): Promise<void>;
}

export async function startTestServer(
  extraArgv: string[] = [],
  opts: { now?: () => Date; busyTimeoutMs?: number; dir?: string } = {},
): Promise<TestServer> {
  const dir = opts.dir ?? tempDir("coderd-test-").dir;
  const agentsFile = join(dir, "agents.yaml");
  const dbPath = join(dir, "coderd.db");
  writeAgentsFile(agentsFile, [AGENT_A.entry, AGENT_B.entry]);
  const argv = [
    "--agents-file", agentsFile, "--db", `sqlite:${dbPath}`, "--admin-token", ADMIN, "--http-listen", "127.0.0.1:0",
    ...extraArgv,
  ];
  const { config } = loadConfig<CoderdConfig>(coderdOptions({ HOME: dir }), { argv, env: { HOME: dir } });
  const writes: string[] = [];
  const server = await startCoderd({
    config, stderr: (chunk) => void writes.push(chunk), now: opts.now, busyTimeoutMs: opts.busyTimeoutMs,
  });
  const admin = (path: string, token = ADMIN) =>
    fetch(`${server.url}/api/v2/boundary/${path}`, { headers: { Authorization: `Bearer ${token}` } });
  return {
    dir, dbPath, agentsFile, server, writes,
    lines: () => writes.join("").split("\n").filter((l) => l.includes("boundary_request")),
    admin,
    async adminJson(path) {
      const res = await admin(path);
      if (res.status !== 200) throw new Error(`${path}: ${res.status} ${await res.text()}`);
      return res.json();
    },
    client: (token: string | null = AGENT_A.token, binary = true) => {
      const client = createIngestClient({ baseUrl: server.url, token: token ?? undefined, binary });
      return {
        reportBoundaryLogs: (...args: Parameters<typeof client.reportBoundaryLogs>) =>
          client.reportBoundaryLogs(...args).finally(() => server.linesWritten()),
        reportProcessLogs: (...args: Parameters<typeof client.reportProcessLogs>) =>
          client.reportProcessLogs(...args).finally(() => server.linesWritten()),
      };
    },
    async close() {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export const SESSION = "8f7c2a4e-3b1d-4c5e-9f60-1a2b3c4d5e6f";

export function log(seq: number, allowed: boolean, url: string, ms = 1765227526093 + seq * 1000): BoundaryLog {
  return create(BoundaryLogSchema, {
    allowed,
    sequenceNumber: seq,
    time: timestampFromMs(ms),
    resource: {
      case: "httpRequest",
      value: { method: allowed ? "GET" : "POST", url, matchedRule: allowed ? `domain=${new URL(url).hostname}` : "" },
    },
  });
}

export function batch(logs: BoundaryLog[], sessionId = SESSION, confinedProcessName = "claude"): ReportBoundaryLogsRequest {
  return create(ReportBoundaryLogsRequestSchema, { sessionId, confinedProcessName, logs });
}

/** Polls until `check` returns a truthy value (or throws after `timeoutMs`). */
/** The identity of store-level tests: agent A's workspace. */
export const STORE_IDENTITY: AgentIdentity = {
  agentId: "", agentName: "", workspaceId: AGENT_A.entry.workspace_id, workspaceName: "alice-dev", ownerId: "", ownerName: "alice", templateId: "t", templateVersionId: "v",
};

/** `n` deny records as the store takes them, sequence numbers from `from`, URLs https://HOST/<seq>. */
export function newRecords(from: number, n: number, host = "s.example"): NewRecord[] {
  return Array.from({ length: n }, (_, i) => ({
    sequenceNumber: from + i, allowed: false, httpMethod: "GET", httpUrl: `https://${host}/${from + i}`, httpHost: host, matchedRule: "",
    eventTime: "2025-12-08T20:58:47.000000005Z",
  }));
}

/** A SQLite store in its own temp dir; `close()` closes it and removes the dir. */
export async function openTestStore(): Promise<{ store: SqliteStore; dir: string; close(): Promise<void> }> {
  const { dir, cleanup } = tempDir("coderd-store-");
  const store = await SqliteStore.open(join(dir, "t.db"));
  return { store, dir, close: async () => (await store.close(), cleanup()) };
}
