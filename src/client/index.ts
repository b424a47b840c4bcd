// Client library for boundary's socket: write audit records into an agent
// the way boundary does. See client.ts for the behaviour.
export { BoundaryClient, type BoundaryClientOptions, type ClientRecord, type ClientStats, SocketUnreachableError } from "./client.ts";
export { DEMO_PROCESS_NAME, DEMO_RECORDS, demoRecords, parseRecord, RecordSyntaxError } from "./records.ts";
export { runLoad, type LoadOptions, type LoadSummary } from "./load.ts";
