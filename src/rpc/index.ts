// What the agent and coderd agree on for ReportBoundaryLogs. Imports only
// gen/ and runtime/; both roles import this, never each other.
//
// For users of the service (the agent, tests, benchmarks, `dev`):
export { createIngestClient, type IngestClient, type IngestClientOptions } from "./ingest-client.ts";
export { classifySendFailure, FAILURE_CODES, type FailureCode, type SendFailure } from "./failure.ts";
// For both sides (coderd's handler enforces it, the agent stays within it):
export { MAX_RECORDS_PER_BATCH } from "./limits.ts";
