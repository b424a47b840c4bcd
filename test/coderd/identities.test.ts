// The agents file: both token forms, errors naming entry and field, and
// lookups that only ever find the token's own identity.
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { ConfigError } from "../../src/config/load.ts";
import { createAgentIdentity, IdentityTable, sha256Hex } from "../../src/coderd/identities.ts";
import { AGENT_A, AGENT_B } from "./helpers.ts";

function issuesOf(doc: unknown): string[] {
  try {
    IdentityTable.fromEntries(doc, "agents.yaml");
  } catch (err) {
    if (err instanceof ConfigError) return err.issues.map((i) => `${i.field}: ${i.message}`);
    throw err;
  }
  return [];
}

describe("agents file", () => {
  test("plain tokens and sha256 digests both authenticate, each to its own identity", () => {
    const table = IdentityTable.fromEntries({ agents: [AGENT_A.entry, AGENT_B.entry] }, "x");
    expect(table.size).toBe(2);
    expect(table.lookup(AGENT_A.token)?.workspaceName).toBe("alice-dev");
    expect(table.lookup(AGENT_B.token)?.workspaceName).toBe("bob-ws");
    expect(table.lookup(AGENT_B.entry.token_sha256)).toBeNull(); // the digest is not itself a token
    expect(table.lookup("")).toBeNull();
    expect(table.lookup(`${AGENT_A.token} `)).toBeNull();
  });

  test("no other string authenticates", () => {
    const table = IdentityTable.fromEntries({ agents: [AGENT_A.entry, AGENT_B.entry] }, "x");
    fc.assert(
      fc.property(fc.string(), (s) => {
        if (s === AGENT_A.token || s === AGENT_B.token) return;
        expect(table.lookup(s)).toBeNull();
      }),
    );
  });

  test("errors name the entry and field", () => {
    expect(issuesOf({ agents: [{ ...AGENT_A.entry, workspace_id: "nope" }] })).toEqual(["agents[0].workspace_id: must be a UUID"]);
    expect(issuesOf({ agents: [AGENT_B.entry, { workspace_id: AGENT_A.entry.workspace_id, workspace_name: "w", owner_name: "o" }] })).toEqual([
      "agents[1].token: needs exactly one of token or token_sha256",
    ]);
    expect(issuesOf({ agents: [{ ...AGENT_A.entry, workspace_name: undefined }] })).toEqual(["agents[0].workspace_name: is required"]);
    expect(issuesOf({ agents: [{ ...AGENT_A.entry, token: "short" }] })).toEqual(["agents[0].token: must be at least 16 characters"]);
    expect(issuesOf({ agents: [{ ...AGENT_B.entry, token_sha256: "abc" }] })[0]).toStartWith("agents[0].token_sha256:");
    expect(issuesOf({ agents: [{ ...AGENT_A.entry, colour: "red" }] })[0]).toStartWith("agents[0]:");
    expect(issuesOf({ agents: [AGENT_A.entry, { ...AGENT_B.entry, token_sha256: sha256Hex(AGENT_A.token) }] })).toEqual([
      "agents[1].token: the same token appears in an earlier entry",
    ]);
    expect(issuesOf({ agent: [] })).not.toEqual([]);
  });

  test("createAgentIdentity makes a token that authenticates to its entry", () => {
    const { token, entry } = createAgentIdentity({ workspaceName: "dev-ws" });
    const table = IdentityTable.fromEntries({ agents: [entry] }, "x");
    expect(table.lookup(token)).toMatchObject({ workspaceId: entry.workspace_id, workspaceName: "dev-ws" });
    expect(JSON.stringify(entry)).not.toContain(token);
  });
});
