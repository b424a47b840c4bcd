// The `dev` command's state folder: a development agent identity, its token
// and an admin token, made on the first run and reused after, so the
// database, the spool and any curl line a user saved keep working.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { createAgentIdentity, writeAgentsFile } from "./agents-file.ts";

export interface DevState {
  dir: string;
  agentsFile: string;
  agentTokenFile: string;
  adminTokenFile: string;
  adminToken: string;
  dbPath: string;
  spoolDir: string;
  /** True when this run made the identity and tokens. */
  created: boolean;
}

function writeSecret(path: string, value: string): void {
  writeFileSync(path, `${value}\n`, { mode: 0o600 });
}

/** Opens (creating on first use) the state folder `dir`. */
export function openDevState(dir: string): DevState {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const state = {
    dir,
    agentsFile: join(dir, "agents.json"),
    agentTokenFile: join(dir, "agent-token"),
    adminTokenFile: join(dir, "admin-token"),
    dbPath: join(dir, "coderd.db"),
    spoolDir: join(dir, "spool"),
  };
  const created = !existsSync(state.agentsFile) || !existsSync(state.agentTokenFile) || !existsSync(state.adminTokenFile);
  if (created) {
    const { token, entry } = createAgentIdentity({ workspaceName: "dev", ownerName: process.env.USER || "me" });
    writeAgentsFile(state.agentsFile, [entry]);
    writeSecret(state.agentTokenFile, token);
    writeSecret(state.adminTokenFile, randomBytes(24).toString("base64url"));
  }
  return { ...state, adminToken: readFileSync(state.adminTokenFile, "utf8").trim(), created };
}
