// The exec-record store contract (store-contract.ts) on SQLite: a fresh file per test.
import { join } from "node:path";
import { SqliteProcessLogStore } from "../../../src/coderd/process/store.ts";
import { tempDir } from "../../helpers/temp.ts";
import { processStoreContract } from "./store-contract.ts";

processStoreContract("sqlite", async () => {
  const path = join(tempDir("exec-store-").dir, "coderd.db");
  return { open: () => SqliteProcessLogStore.open(path) };
});
