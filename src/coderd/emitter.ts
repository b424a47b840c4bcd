// Writes the boundary_request lines of newly stored records: one line per
// record, the whole batch in one write.
import type { LogFormat, EmittedRecord } from "../record/emission.ts";
import { formatLine } from "../record/emission.ts";
import type { AgentIdentity } from "../record/identity.ts";

export type Writer = (chunk: string) => void;

export class Emitter {
  constructor(
    private readonly format: LogFormat,
    private readonly write: Writer,
    private readonly now: () => Date = () => new Date(),
  ) {}

  emit(records: EmittedRecord[], identity: AgentIdentity): void {
    if (records.length === 0) return;
    const now = this.now();
    let chunk = "";
    for (const rec of records) chunk += `${formatLine(this.format, rec, identity, now)}\n`;
    this.write(chunk);
  }
}
