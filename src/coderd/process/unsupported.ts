// Exec records on a store that cannot hold them yet: PostgreSQL has no
// process_logs table so far (it is SQLite-only). ReportProcessLogs is then
// refused with failed_precondition naming why (the agent keeps the records
// in its spool and retries), and /api/v2/process/logs lists nothing.
// Boundary records are not affected.
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import type { IngestService } from "../../gen/boundaryrelay/v1/ingest_pb.ts";
import type { ProcessLogStore } from "./store.ts";

export const PROCESS_LOGS_UNSUPPORTED =
  "process logs (--process-log) are stored only with --db sqlite:PATH so far; this coderd uses PostgreSQL";

export const noProcessLogStore: ProcessLogStore = {
  insertExecs: () => Promise.reject(new ConnectError(PROCESS_LOGS_UNSUPPORTED, Code.FailedPrecondition)),
  listExecs: async () => ({ items: [], next: null }),
  unconsumed: async () => [],
  advanceCursor: async () => {},
  purgeBefore: async () => 0,
  close: async () => {},
};

export const refuseProcessLogs: Pick<ServiceImpl<typeof IngestService>, "reportProcessLogs"> = {
  reportProcessLogs() {
    throw new ConnectError(PROCESS_LOGS_UNSUPPORTED, Code.FailedPrecondition);
  },
};
