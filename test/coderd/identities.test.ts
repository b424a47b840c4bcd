// The agents file: both token forms, errors naming entry and field,
// lookups that only ever find the token's own identity, and the warning for
// plain tokens others can read.
import { afterEach, describe, expect, test } from "bun:test";
import fc from "fast-check";
import { chmodSync } from "node:fs";
import { join } from "node:path";
import { IdentityRegistry } from "../../src/coderd/identities/registry.ts";
import { AgentsFileError } from "../../src/coderd/identities/schema.ts";
import { IdentityTable, sha256Hex } from "../../src/coderd/identities/table.ts";
import { createAgentIdentity, writeAgentsFile } from "../../src/dev/agents-file.ts";
import { AGENT_A, AGENT_B } from "./helpers.ts";
import { tempDir } from "../helpers/temp.ts";

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

function issuesOf(doc: unknown): string[] {
  try {
    IdentityTable.fromEntries(doc, "agents.yaml");
  } catch (err) {
    if (err instanceof AgentsFileError) return err.issues.map((i) => `${i.field}: ${i.message}`);
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

  test("a string authenticates exactly when it is a token, and only to that token's identity", () => {
    const table = IdentityTable.fromEntries({ agents: [AGENT_A.entry, AGENT_B.entry] }, "x");
    const token = fc.constantFrom(AGENT_A.token, AGENT_B.token);
    // Near misses: a token with one character changed, cut short, extended or re-cased.
    const nearMiss = fc.oneof(
      fc.tuple(token, fc.nat(), fc.string({ minLength: 1, maxLength: 1 })).map(([t, i, c]) => t.slice(0, i % t.length) + c + t.slice((i % t.length) + 1)),
      fc.tuple(token, fc.nat()).map(([t, n]) => t.slice(0, n % t.length)),
      fc.tuple(token, fc.string({ minLength: 1 })).map(([t, extra]) => t + extra),
      token.map((t) => t.toUpperCase()),
    );
    fc.assert(
      fc.property(fc.oneof(token, nearMiss, fc.string()), (s) => {
        const expected = s === AGENT_A.token ? "alice-dev" : s === AGENT_B.token ? "bob-ws" : null;
        expect(table.lookup(s)?.workspaceName ?? null).toBe(expected);
      }),
      { numRuns: 2000 },
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

describe("plain tokens readable by others", () => {
  test("a file with plain tokens that group or others can read gets a warning naming it; 0600 or digests only do not", () => {
    const { dir, cleanup } = tempDir("coderd-identities-");
    cleanups.push(cleanup);
    const file = join(dir, "agents.yaml");
    writeAgentsFile(file, [AGENT_A.entry, AGENT_B.entry]);
    chmodSync(file, 0o640);
    const registry = new IdentityRegistry(file);
    expect(registry.current.plainTokens).toBe(1);
    expect(registry.exposureWarning()).toContain(`agents file ${file} is readable by group or others (mode 0640) and holds 1 plain token`);
    chmodSync(file, 0o600);
    expect(registry.exposureWarning()).toBeNull();
    writeAgentsFile(file, [AGENT_B.entry]);
    chmodSync(file, 0o644);
    expect(registry.reload()).toEqual({ ok: true, count: 1 });
    expect(registry.exposureWarning()).toBeNull();
  });
});
