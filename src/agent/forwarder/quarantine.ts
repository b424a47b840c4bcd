// The quarantine: records coderd refuses as invalid_argument, one at a time
// (the forwarder isolates them by splitting their batch), and records of an
// older run's spool that break the record rules, are set aside here instead
// of being retried for ever. One NDJSON file per UTC day under
// <spool-dir>/quarantine/, each line:
//   {"time":"…Z","reason":"invalid_argument: …","session_id":"…",
//    "confined_process_name":"…","sequence_number":12,"record":"<base64>"}
// where `record` is the encoded coder.agent.v2.BoundaryLog as the spool held
// it, and sequence_number is null when even that does not parse. A spool
// entry that is not a request at all is kept whole: `record` holds its bytes,
// session_id is "" and sequence_number null.
// Guarantees: put() resolves only once the lines are on disk (fsync), so the
// forwarder acknowledges a record in the spool only after it is here; the
// files are 0600 (audit data). Nothing is ever deleted here: the operator
// reads (README: "Quarantined records") and removes the files.
import { Buffer } from "node:buffer";
import { mkdir, open } from "node:fs/promises";
import { join } from "node:path";

export const QUARANTINE_DIR = "quarantine";

export interface QuarantinedRecord {
  sessionId: string;
  confinedProcessName: string;
  sequenceNumber: number | null;
  /** The encoded BoundaryLog. */
  record: Uint8Array;
  /** Why coderd refused it, e.g. "invalid_argument: logs[0].http_url: …". */
  reason: string;
}

export class Quarantine {
  constructor(
    /** The quarantine directory (<spool-dir>/quarantine). */
    readonly dir: string,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** Appends the records to today's file and syncs it. */
  async put(records: readonly QuarantinedRecord[]): Promise<string> {
    const now = this.now();
    const time = now.toISOString();
    const lines = records.map((r) =>
      JSON.stringify({
        time,
        reason: r.reason,
        session_id: r.sessionId,
        confined_process_name: r.confinedProcessName,
        sequence_number: r.sequenceNumber,
        record: Buffer.from(r.record).toString("base64"),
      }),
    );
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const path = join(this.dir, `${time.slice(0, 10)}.ndjson`);
    const file = await open(path, "a", 0o600);
    try {
      await file.appendFile(`${lines.join("\n")}\n`);
      await file.sync();
    } finally {
      await file.close();
    }
    return path;
  }
}
