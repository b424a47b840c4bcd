// Picks the exec-record store for --db, as store/open.ts does for the
// boundary store: sqlite:PATH (the same file, its own connection); with
// PostgreSQL exec records are not stored yet (unsupported.ts).
import { ConfigError } from "../../config/load.ts";
import { type ProcessLogStore, SqliteProcessLogStore } from "./store.ts";
import { noProcessLogStore } from "./unsupported.ts";

export async function openProcessLogStore(db: string, busyTimeoutMs?: number): Promise<ProcessLogStore> {
  if (db.startsWith("sqlite:")) return SqliteProcessLogStore.open(db.slice("sqlite:".length), busyTimeoutMs);
  if (/^postgres(ql)?:\/\//.test(db)) return noProcessLogStore;
  throw new ConfigError([{ field: "db", where: "--db", message: "must be sqlite:PATH or postgres://…" }]);
}
