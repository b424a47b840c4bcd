// The exec-record store contract (store-contract.ts) on PostgreSQL: a fresh
// database per test in the test run's own cluster (test/helpers/postgres.ts).
import { PostgresProcessLogStore } from "../../../src/coderd/process/postgres-store.ts";
import { freshDatabase, postgresAvailable } from "../../helpers/postgres.ts";
import { processStoreContract } from "./store-contract.ts";

if (postgresAvailable()) {
  processStoreContract("postgres", async () => {
    const url = await freshDatabase("exec");
    return { open: () => PostgresProcessLogStore.open(url) };
  });
}
