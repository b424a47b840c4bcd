// The Store contract (contract.ts) on SQLite: a file in a temp dir.
import { join } from "node:path";
import { SqliteStore } from "../../../src/coderd/store/sqlite.ts";
import { tempDir } from "../../helpers/temp.ts";
import { storeContract } from "./contract.ts";

storeContract("sqlite", async () => {
  const { dir, cleanup } = tempDir("br-store-");
  return { open: () => SqliteStore.open(join(dir, "t.db")), cleanup: async () => cleanup() };
});
