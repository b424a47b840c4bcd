// The identities coderd serves with: the current IdentityTable, swapped
// whole on reload (SIGHUP), so a request in flight keeps the identity it
// authenticated with; a bad file at reload leaves the old table in place.
// It also says when the file exposes secrets: plain tokens in a file that
// group or others can read.
import { statSync } from "node:fs";
import type { AgentIdentity } from "../../record/identity.ts";
import { IdentityTable } from "./table.ts";

export class IdentityRegistry {
  private table: IdentityTable;

  /** Reads `path` (none: `initial`, or no identities); throws AgentsFileError when it is bad. */
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

  /** A warning when the file holds plain tokens and group or others may read it; else null. */
  exposureWarning(): string | null {
    if (!this.path || this.table.plainTokens === 0) return null;
    let mode: number;
    try {
      mode = statSync(this.path).mode & 0o777;
    } catch {
      return null; // read a moment ago; a file gone since is the next reload's business
    }
    if ((mode & 0o077) === 0) return null;
    const n = this.table.plainTokens;
    return (
      `warning: agents file ${this.path} is readable by group or others (mode ${mode.toString(8).padStart(4, "0")}) ` +
      `and holds ${n} plain token${n === 1 ? "" : "s"}: chmod 600 it, or store token_sha256 instead of token`
    );
  }
}
