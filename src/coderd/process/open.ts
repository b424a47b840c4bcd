// Picks the exec-record store for --db, as store/open.ts does for the
// boundary store: sqlite:PATH (the same file, its own connection).
import { ConfigError } from "../../config/load.ts";
import { type ProcessLogStore, SqliteProcessLogStore } from "./store.ts";

export async function openProcessLogStore(db: string, busyTimeoutMs?: number): Promise<ProcessLogStore> {
  if (db.startsWith("sqlite:")) return SqliteProcessLogStore.open(db.slice("sqlite:".length), busyTimeoutMs);
  throw new ConfigError([{ field: "db", where: "--db", message: "only sqlite:PATH is supported so far (PostgreSQL is planned)" }]);
}
