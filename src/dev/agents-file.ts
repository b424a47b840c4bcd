// Agents files for `dev` and the tests: a fresh random agent identity and
// the file that lists it. Not used by coderd itself.
import { randomBytes, randomUUID } from "node:crypto";
import { writeFileSync } from "node:fs";
import type { AgentEntry } from "../coderd/identities/schema.ts";
import { sha256Hex } from "../coderd/identities/table.ts";

/** A fresh random agent: its token and the agents-file entry (token stored as sha256). */
export function createAgentIdentity(names: { workspaceName?: string; ownerName?: string; agentName?: string } = {}): {
  token: string;
  entry: AgentEntry;
} {
  const token = randomBytes(32).toString("base64url");
  return {
    token,
    entry: {
      token_sha256: sha256Hex(token),
      agent_id: randomUUID(),
      agent_name: names.agentName ?? "main",
      workspace_id: randomUUID(),
      workspace_name: names.workspaceName ?? "dev",
      owner_id: randomUUID(),
      owner_name: names.ownerName ?? "me",
      template_id: randomUUID(),
      template_version_id: randomUUID(),
    },
  };
}

/** Writes an agents file (JSON is valid YAML), readable by the owner only. */
export function writeAgentsFile(path: string, entries: AgentEntry[]): void {
  writeFileSync(path, `${JSON.stringify({ agents: entries }, null, 2)}\n`, { mode: 0o600 });
}
