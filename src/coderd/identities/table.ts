// An immutable table of agent identities: token (kept only as its sha256
// digest) → workspace, owner, template and agent, looked up by digest in a Map.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { parse as parseYaml } from "yaml";
import type { AgentIdentity } from "../../record/identity.ts";
import { AgentsFileError, type AgentsFileIssue, parseAgentsDoc } from "./schema.ts";

export function sha256Hex(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

export class IdentityTable {
  private constructor(
    private readonly byDigest: Map<string, AgentIdentity>,
    /** Entries that hold a plain `token:` (a secret) rather than its digest. */
    readonly plainTokens: number,
  ) {}

  static empty(): IdentityTable {
    return new IdentityTable(new Map(), 0);
  }

  /** Builds from a parsed agents file; throws AgentsFileError naming each bad entry and field. */
  static fromEntries(doc: unknown, where: string): IdentityTable {
    const entries = parseAgentsDoc(doc, where);
    const issues: AgentsFileIssue[] = [];
    const byDigest = new Map<string, AgentIdentity>();
    entries.forEach((e, index) => {
      const digest = (e.token_sha256 ?? sha256Hex(e.token!)).toLowerCase();
      if (byDigest.has(digest)) {
        issues.push({ field: `agents[${index}].token`, where, message: "the same token appears in an earlier entry" });
      }
      byDigest.set(digest, {
        agentId: e.agent_id,
        agentName: e.agent_name,
        workspaceId: e.workspace_id.toLowerCase(),
        workspaceName: e.workspace_name,
        ownerId: e.owner_id,
        ownerName: e.owner_name,
        templateId: e.template_id,
        templateVersionId: e.template_version_id,
      });
    });
    if (issues.length > 0) throw new AgentsFileError("invalid", issues);
    return new IdentityTable(byDigest, entries.filter((e) => e.token !== undefined).length);
  }

  static fromFile(path: string): IdentityTable {
    let doc: unknown;
    try {
      doc = parseYaml(readFileSync(path, "utf8"));
    } catch (err) {
      const message = `cannot read: ${err instanceof Error ? err.message : String(err)}`;
      throw new AgentsFileError("unreadable", [{ field: "agents_file", where: path, message }], { cause: err });
    }
    return IdentityTable.fromEntries(doc ?? {}, path);
  }

  get size(): number {
    return this.byDigest.size;
  }

  /**
   * The identity of a presented token, or null: one Map lookup by the
   * token's sha256 digest. The lookup's timing can only depend on the
   * digest, and a digest says nothing usable about how close a guessed
   * token was to a real one, so no constant-time scan is needed.
   */
  lookup(token: string): AgentIdentity | null {
    if (token === "") return null;
    return this.byDigest.get(sha256Hex(token)) ?? null;
  }
}
