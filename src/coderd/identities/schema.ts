// The agents file (--agents-file): its schema, and every problem in it as an
// issue naming the entry and field ("agents[1].workspace_id"). A file that
// does not pass is an AgentsFileError; the CLI turns it into exit code 2.
import { z } from "zod";
import { NIL_UUID, UUID_PATTERN } from "../../record/ids.ts";

export interface AgentsFileIssue {
  /** e.g. `agents[1].workspace_id`, or `agents_file` for the file as a whole. */
  field: string;
  /** The file's path. */
  where: string;
  message: string;
}

export class AgentsFileError extends Error {
  override readonly name = "AgentsFileError";
  constructor(
    readonly failure: "unreadable" | "invalid",
    readonly issues: AgentsFileIssue[],
    options?: { cause?: unknown },
  ) {
    super(issues.map((i) => `${i.field} (from ${i.where}): ${i.message}`).join("\n"), options);
  }
}

const text = () =>
  z.string({ error: (issue) => (issue.input === undefined ? "is required" : "must be a string") });
const uuid = () => text().regex(UUID_PATTERN, "must be a UUID");
const name = () => text().min(1, "must not be empty");

const entrySchema = z
  .object({
    token: text().min(16, "must be at least 16 characters").optional(),
    token_sha256: text().regex(/^[0-9a-f]{64}$/i, "must be 64 hex digits (sha256 of the token)").optional(),
    agent_id: uuid().optional().default(NIL_UUID),
    agent_name: text().optional().default(""),
    workspace_id: uuid(),
    workspace_name: name(),
    owner_id: uuid().optional().default(NIL_UUID),
    owner_name: name(),
    template_id: uuid().optional().default(NIL_UUID),
    template_version_id: uuid().optional().default(NIL_UUID),
  })
  .strict();

const fileSchema = z
  .object({ agents: z.array(entrySchema, { error: "must be a list of agent entries" }) })
  .strict();

/** An entry as written in the file. */
export type AgentEntry = z.input<typeof entrySchema>;
/** An entry after defaults. */
export type ParsedAgentEntry = z.output<typeof entrySchema>;

/** Exactly one of token / token_sha256, checked on the raw entries so it is reported with the other issues. */
function tokenIssues(doc: unknown, where: string): AgentsFileIssue[] {
  const agents = (doc as { agents?: unknown } | null)?.agents;
  if (!Array.isArray(agents)) return [];
  return agents.flatMap((e, index) => {
    const entry = (e ?? {}) as Record<string, unknown>;
    if (typeof e !== "object" || (entry.token === undefined) !== (entry.token_sha256 === undefined)) return [];
    return [{ field: `agents[${index}].token`, where, message: "needs exactly one of token or token_sha256" }];
  });
}

function issueOf(issue: z.core.$ZodIssue, where: string): AgentsFileIssue {
  let field = "";
  for (const part of issue.path) {
    field += typeof part === "number" ? `[${part}]` : field === "" ? String(part) : `.${String(part)}`;
  }
  return { field: field || "agents_file", where, message: issue.message };
}

/** The entries of a parsed agents file; throws AgentsFileError listing every problem. */
export function parseAgentsDoc(doc: unknown, where: string): ParsedAgentEntry[] {
  const parsed = fileSchema.safeParse(doc);
  const issues = tokenIssues(doc, where);
  if (!parsed.success) issues.push(...parsed.error.issues.map((i) => issueOf(i, where)));
  if (!parsed.success || issues.length > 0) throw new AgentsFileError("invalid", issues);
  return parsed.data.agents;
}
