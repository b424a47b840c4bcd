// The kinds of request a spool holds, as the forwarder sees them: where the
// records sit in an entry's bytes, how a request is put together from
// records, which records break the rules, and what names a record in the
// quarantine. The forwarder, spool and quarantine are shared; only this differs.
//   BOUNDARY_KIND  coder.agent.v2.ReportBoundaryLogsRequest (boundary records):
//                  records in field 1 (`logs`), grouped by session_id and
//                  confined_process_name;
//   EXEC_KIND      boundaryrelay.v1.ReportProcessLogsRequest (exec records,
//                  --process-log): records in field 2 (`execs`), grouped by
//                  boot_id (carried in ScannedRequest.sessionId, and so in the
//                  quarantine line's session_id).
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { WireType } from "@bufbuild/protobuf/wire";
import { type ReportBoundaryLogsRequest } from "../../gen/coder/agent/v2/boundary_pb.ts";
import { type ReportProcessLogsRequest, ReportProcessLogsRequestSchema } from "../../gen/boundaryrelay/v1/process_pb.ts";
import { checkProcessRequest } from "../../process/validity.ts";
import { checkEncodedRequest, type InvalidField } from "../../record/validity.ts";
import { checkEncodedMessage } from "../../rpc/strict-wire.ts";
import { type Batch, decodeLog, type EncodedLog, joinRecords, requestOfOne, type ScannedRequest, scanRequest, toRequest } from "./batch.ts";

export interface RequestKind<Req> {
  /** Field number of the records in the request (what the spool counts in a damaged entry). */
  readonly recordsField: number;
  /** Splits an encoded request into its grouping fields and its records' bytes (throws when it is not one). */
  scan(body: Uint8Array): ScannedRequest;
  /** The request that carries a batch's records, their bytes as spooled. */
  build(batch: Batch): Req;
  /** The record rules on an encoded request (entries an older run spooled): null when valid. */
  check(body: Uint8Array): InvalidField | null;
  /** An encoded request holding just `log` of `batch`'s group, to check one record. */
  requestOfOne(log: EncodedLog, group: ScannedRequest): Uint8Array;
  /** What the quarantine line calls the record's sequence number; null when it has none. */
  sequenceOf(log: EncodedLog): number | null;
}

export const BOUNDARY_KIND: RequestKind<ReportBoundaryLogsRequest> = {
  recordsField: 1,
  scan: (body) => scanRequest(body),
  build: toRequest,
  check: checkEncodedRequest,
  requestOfOne: (log) => requestOfOne(log),
  sequenceOf: (log) => decodeLog(log).sequenceNumber,
};

const BOOT_ID_FIELD = 1;
const EXECS_FIELD = 2;

/** Splits an encoded ReportProcessLogsRequest into its boot_id (as sessionId) and its execs' bytes. */
export const scanExecRequest = (body: Uint8Array): ScannedRequest => scanRequest(body, { records: EXECS_FIELD, sessionId: BOOT_ID_FIELD, confinedProcessName: 0 });

/** The rules coderd applies, on the bytes: the wire shape (rpc/strict-wire.ts), then the values (src/process/validity.ts). */
export function checkEncodedExecRequest(body: Uint8Array): InvalidField | null {
  const malformed = checkEncodedMessage(ReportProcessLogsRequestSchema, body);
  if (malformed) return malformed;
  let request: ReportProcessLogsRequest;
  try {
    request = fromBinary(ReportProcessLogsRequestSchema, body);
  } catch (err) {
    return { kind: "malformed_protobuf", field: "", problem: err instanceof Error ? err.message : String(err) };
  }
  return checkProcessRequest(request);
}

export const EXEC_KIND: RequestKind<ReportProcessLogsRequest> = {
  recordsField: EXECS_FIELD,
  scan: scanExecRequest,
  build(batch) {
    const request = create(ReportProcessLogsRequestSchema, { bootId: batch.sessionId });
    const joined = joinRecords(batch, EXECS_FIELD);
    if (joined) request.$unknown = [{ no: EXECS_FIELD, wireType: WireType.LengthDelimited, data: joined }];
    return request;
  },
  check: checkEncodedExecRequest,
  requestOfOne(log, group) {
    const request = create(ReportProcessLogsRequestSchema, { bootId: group.sessionId });
    request.$unknown = [{ no: EXECS_FIELD, wireType: WireType.LengthDelimited, data: log }];
    return toBinary(ReportProcessLogsRequestSchema, request);
  },
  sequenceOf: () => null,
};
