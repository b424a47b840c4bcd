// Default locations: boundary's socket path (shared/WIRE.md §1) and the
// per-user state directory ($XDG_STATE_HOME or ~/.local/state).
import { homedir } from "node:os";
import { join } from "node:path";

type Env = Record<string, string | undefined>;

export function defaultSocketPath(env: Env): string {
  return join(env.TMPDIR || "/tmp", "boundary-audit.sock");
}

export function stateDir(env: Env): string {
  const base = env.XDG_STATE_HOME || join(env.HOME || homedir(), ".local", "state");
  return join(base, "boundary-relay");
}
