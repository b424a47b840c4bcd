// Plausible stored records for the console's screenshots and page bench,
// written straight through the Store (so captured_at can lie in the past):
// a handful of workspaces and owners, sessions of a few hundred records,
// most allowed, some denied to a small set of domains, and gaps in a few
// sessions. Deterministic for a given seed.
import type { AgentIdentity } from "../../src/record/identity.ts";
import type { NewRecord, Store } from "../../src/coderd/store/store.ts";

/** (workspace name, owner name, confined process) of each bench workspace. */
export const WORKSPACES: [string, string, string][] = [
  ["alice-dev", "alice", "claude"], ["bob-api", "bob", "codex"], ["carol-ml", "carol", "claude"],
  ["dave-infra", "dave", "aider"], ["erin-web", "erin", "claude"], ["frank-data", "frank", "codex"],
];
export const ALLOWED = ["github.com", "api.github.com", "registry.npmjs.org", "pypi.org", "files.pythonhosted.org", "proxy.golang.org", "api.anthropic.com"];
export const DENIED = ["pastebin.com", "www.pastebin.com", "transfer.sh", "webhook.site", "ngrok-free.app", "169.254.169.254", "raw.githubusercontent.com"];
export const PATHS = ["/", "/api/v1/items", "/simple/requests/", "/upload", "/raw/8f2a", "/latest/meta-data/iam/", "/repos/acme/app/pulls"];

/** A small deterministic PRNG (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const hex = (n: number, width: number) => n.toString(16).padStart(width, "0").slice(-width);
const uuidOf = (kind: number, n: number) => `${hex(Math.imul(n + 1, 2654435761) >>> 0, 8)}-${hex(kind, 4)}-4${hex(n, 3)}-8${hex(n >>> 12, 3)}-${hex(kind * 65537 + n, 12)}`;

export function identityOf(w: number): AgentIdentity {
  const [workspaceName, ownerName] = WORKSPACES[w % WORKSPACES.length]!;
  return {
    agentId: uuidOf(0xa9e47, w), agentName: "main", workspaceId: uuidOf(0x3035, w), workspaceName,
    ownerId: uuidOf(0x0e7e, w), ownerName, templateId: uuidOf(0x7e3, 1), templateVersionId: uuidOf(0x7e3, 2),
  };
}

export interface SeedOptions {
  records: number;
  /** Records are spread evenly over [now - spanMs, now]. */
  spanMs: number;
  now: number;
  recordsPerSession?: number;
  seed?: number;
  /** Every how many sessions one has a gap of 10 (seq 10–19); 0 = none. */
  gapEvery?: number;
  onProgress?: (stored: number) => void;
}

/** Stores `records` records in batches of up to 1000; returns the session ids, oldest first. */
export async function seedConsoleData(store: Store, o: SeedOptions): Promise<string[]> {
  const random = rng(o.seed ?? 7);
  const perSession = o.recordsPerSession ?? 400;
  const sessions: string[] = [];
  let stored = 0;
  for (let s = 0; stored < o.records; s++) {
    const sessionId = uuidOf(0x5e55, s);
    sessions.push(sessionId);
    const w = Math.floor(random() * WORKSPACES.length);
    const count = Math.min(perSession, o.records - stored);
    const gap = o.gapEvery && s % o.gapEvery === 1 && count > 30;
    for (let from = 0; from < count; from += 1000) {
      const records: NewRecord[] = [];
      const n = Math.min(1000, count - from);
      const at = o.now - o.spanMs + Math.floor(((stored + from) / o.records) * o.spanMs);
      for (let i = 0; i < n; i++) {
        const seq = from + i;
        if (gap && seq >= 10 && seq < 20) continue;
        const denied = random() < 0.08;
        const host = denied ? DENIED[Math.floor(random() * random() * DENIED.length)]! : ALLOWED[Math.floor(random() * ALLOWED.length)]!;
        const url = `https://${host}${PATHS[Math.floor(random() * PATHS.length)]}`;
        records.push({
          sequenceNumber: seq, allowed: !denied, httpMethod: denied && random() < 0.6 ? "POST" : "GET", httpUrl: url, httpHost: host,
          matchedRule: denied ? "" : `domain=${host}`, eventTime: new Date(at - 800).toISOString(),
        });
      }
      await store.insertBatch({
        identity: identityOf(w), sessionId, deduplicate: true, confinedProcessName: WORKSPACES[w]![2],
        capturedAt: new Date(at), records,
      });
    }
    stored += count;
    o.onProgress?.(stored);
  }
  return sessions;
}
