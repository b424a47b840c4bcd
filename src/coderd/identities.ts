// Agent identities from --agents-file: token (or its sha256) → workspace,
// owner, template and agent. Tokens are kept only as sha256 digests and
// compared in constant time. The table is swapped whole on reload, so a
// request in flight keeps the identity it authenticated with; a bad file
// at reload leaves the old table in place.
import { createHash, randomBytes, randomUUID, timingSafeEqual } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { ConfigError, type ConfigIssue } from "../config/load.ts";
import type { AgentIdentity } from "../record/identity.ts";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(value: string): boolean {
  return UUID.test(value);
}

const text = () =>
  z.string({ error: (issue) => (issue.input === undefined ? "is required" : "must be a string") });
const uuid = () => text().regex(UUID, "must be a UUID");
const name = () => text().min(1, "must not be empty");

const entrySchema = z
  .object({
    token: text().min(16, "must be at least 16 characters").optional(),
    token_sha256: text().regex(/^[0-9a-f]{64}$/i, "must be 64 hex digits (sha256 of the token)").optional(),
    agent_id: uuid().optional().default("00000000-0000-0000-0000-000000000000"),
    agent_name: text().optional().default(""),
    workspace_id: uuid(),
    workspace_name: name(),
    owner_id: uuid().optional().default("00000000-0000-0000-0000-000000000000"),
    owner_name: name(),
    template_id: uuid().optional().default("00000000-0000-0000-0000-000000000000"),
    template_version_id: uuid().optional().default("00000000-0000-0000-0000-000000000000"),
  })
  .strict();

const fileSchema = z
  .object({ agents: z.array(entrySchema, { error: "must be a list of agent entries" }) })
  .strict();

/** Exactly one of token / token_sha256, checked on the raw entries so it is reported with the other issues. */
function tokenIssues(doc: unknown, where: string): ConfigIssue[] {
  const agents = (doc as { agents?: unknown } | null)?.agents;
  if (!Array.isArray(agents)) return [];
  return agents.flatMap((e, index) => {
    const entry = (e ?? {}) as Record<string, unknown>;
    if (typeof e !== "object" || (entry.token === undefined) !== (entry.token_sha256 === undefined)) return [];
    return [{ field: `agents[${index}].token`, where, message: "needs exactly one of token or token_sha256" }];
  });
}

export type AgentEntry = z.input<typeof entrySchema>;

export function sha256Hex(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

/** An immutable token → identity table. */
export class IdentityTable {
  private readonly digests: [Buffer, AgentIdentity][];

  private constructor(private readonly byDigest: Map<string, AgentIdentity>) {
    this.digests = [...byDigest].map(([hex, identity]) => [Buffer.from(hex, "hex"), identity]);
  }

  static empty(): IdentityTable {
    return new IdentityTable(new Map());
  }

  /** Builds from entries; throws ConfigError naming each bad entry and field. */
  static fromEntries(entries: unknown, where: string): IdentityTable {
    const parsed = fileSchema.safeParse(entries);
    const issues = tokenIssues(entries, where);
    if (!parsed.success) issues.push(...parsed.error.issues.map((i) => issueOf(i, where)));
    if (!parsed.success || issues.length > 0) throw new ConfigError(issues);
    const byDigest = new Map<string, AgentIdentity>();
    parsed.data.agents.forEach((e, index) => {
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
    if (issues.length > 0) throw new ConfigError(issues);
    return new IdentityTable(byDigest);
  }

  static fromFile(path: string): IdentityTable {
    let doc: unknown;
    try {
      doc = parseYaml(readFileSync(path, "utf8"));
    } catch (err) {
      throw new ConfigError([{ field: "agents_file", where: path, message: `cannot read: ${(err as Error).message}` }]);
    }
    return IdentityTable.fromEntries(doc ?? {}, path);
  }

  get size(): number {
    return this.byDigest.size;
  }

  /**
   * The identity of a presented token, or null. Every entry's digest is
   * compared with timingSafeEqual and the scan never stops early, so the
   * time taken says nothing about how close a guess was.
   */
  lookup(token: string): AgentIdentity | null {
    if (token === "") return null;
    const digest = createHash("sha256").update(token).digest();
    let found: AgentIdentity | null = null;
    for (const [known, identity] of this.digests) {
      if (timingSafeEqual(digest, known) && found === null) found = identity;
    }
    return found;
  }
}

function issueOf(issue: z.core.$ZodIssue, where: string): ConfigIssue {
  let field = "";
  for (const part of issue.path) {
    field += typeof part === "number" ? `[${part}]` : field === "" ? String(part) : `.${String(part)}`;
  }
  return { field: field || "agents_file", where, message: issue.message };
}

/** Holds the current table; reload() swaps it or keeps the old one and says why. */
export class IdentityRegistry {
  private table: IdentityTable;

  constructor(
    private readonly path: string,
    initial?: IdentityTable,
  ) {
    this.table = initial ?? (path ? IdentityTable.fromFile(path) : IdentityTable.empty());
  }

  get current(): IdentityTable {
    return this.table;
  }

  lookup(token: string): AgentIdentity | null {
    return this.table.lookup(token);
  }

  /** Rereads the file; on error the old identities stay and the error is returned. */
  reload(): { ok: true; count: number } | { ok: false; error: string } {
    if (!this.path) return { ok: true, count: this.table.size };
    try {
      this.table = IdentityTable.fromFile(this.path);
      return { ok: true, count: this.table.size };
    } catch (err) {
      return { ok: false, error: err instanceof Error ? err.message : String(err) };
    }
  }
}

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
