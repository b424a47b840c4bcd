// The Store contract (contract.ts) on PostgreSQL: a fresh database per test
// in the test run's own cluster (test/helpers/postgres.ts).
import { PostgresStore } from "../../../src/coderd/store/postgres.ts";
import { freshDatabase, postgresAvailable } from "../../helpers/postgres.ts";
import { storeContract } from "./contract.ts";

if (postgresAvailable()) {
  storeContract("postgres", async () => {
    const url = await freshDatabase("contract");
    return { open: () => PostgresStore.open(url), cleanup: async () => {} };
  });
}
