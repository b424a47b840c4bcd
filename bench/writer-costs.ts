// Where the SQLite writer's time goes: µs per record of the writer thread's
// BatchWriter (sqlite-insert.ts) on a real file in WAL mode, synchronous
// NORMAL, four batches per transaction (a group commit), each batch a new
// session, for 88- and 1000-record batches (88 is what the end-to-end
// bench's 1000 sessions send per request). Against the schema as shipped,
// it measures the same writes with one secondary index of boundary_logs
// dropped at a time, and with WAL checkpoints switched off (the writer
// checkpoints inside a commit once the WAL passes 1000 pages): what each
// costs the writer, and so what any change to it could win. Variants
// alternate run by run so that a busy machine slows all of them alike.
//
//   bun bench/writer-costs.ts [--records 100000] [--repeats 3]
import { randomUUID } from "node:crypto";
import { parseArgs } from "node:util";
import { BatchWriter } from "../src/coderd/store/sqlite-insert.ts";
import type { NewBatch } from "../src/coderd/store/store.ts";
import { identityOf } from "./lib/console-data.ts";
import { recordsOf, withFreshDatabase } from "./lib/sqlite-bench.ts";
import { median } from "./lib/stats.ts";

const { values } = parseArgs({ options: { records: { type: "string", default: "100000" }, repeats: { type: "string", default: "3" } } });
const RECORDS = Number(values.records);
const REPEATS = Number(values.repeats);
const PER_TRANSACTION = 4;
const SIZES = [88, 1000];

interface Variant {
  name: string;
  dropIndex?: string;
  noCheckpoints?: boolean;
}
const VARIANTS: Variant[] = [
  { name: "as shipped" },
  ...["boundary_logs_host_captured", "boundary_logs_captured_cover", "boundary_logs_captured", "boundary_logs_session_seq", "boundary_logs_dedup"]
    .map((ix) => ({ name: `without ${ix}`, dropIndex: ix })),
  { name: "no WAL checkpoints", noCheckpoints: true },
];

/** µs per record writing RECORDS records in `size`-record batches into a fresh database. */
function run(variant: Variant, size: number): Promise<number> {
  return withFreshDatabase("NORMAL", (db) => {
    if (variant.dropIndex) db.exec(`DROP INDEX ${variant.dropIndex}`);
    if (variant.noCheckpoints) db.exec("PRAGMA wal_autocheckpoint = 0");
    const writer = new BatchWriter(db, "NORMAL");
    const identity = identityOf(0);
    const groups = Math.ceil(RECORDS / size / PER_TRANSACTION);
    const start = performance.now();
    for (let g = 0; g < groups; g++) {
      const batches: NewBatch[] = Array.from({ length: PER_TRANSACTION }, (_, k) => ({
        identity, sessionId: randomUUID(), deduplicate: true, confinedProcessName: "claude", capturedAt: new Date(),
        records: recordsOf(size, (g * PER_TRANSACTION + k) * size),
      }));
      writer.commit(batches);
    }
    const us = ((performance.now() - start) * 1000) / (groups * PER_TRANSACTION * size);
    writer.close();
    return us;
  });
}

const samples = new Map<string, number[]>();
for (let r = 0; r < REPEATS; r++) {
  for (const size of SIZES) {
    for (const v of VARIANTS) {
      const key = `${size}\u0000${v.name}`;
      samples.set(key, [...(samples.get(key) ?? []), await run(v, size)]);
    }
  }
}
console.log(`writer µs per record (median of ${REPEATS}; ${RECORDS} records per run, ${PER_TRANSACTION} batches per transaction)`);
console.log(`| variant | ${SIZES.map((s) => `${s}-record batches`).join(" | ")} |`);
console.log(`|---|${SIZES.map(() => "---").join("|")}|`);
for (const v of VARIANTS) {
  const cells = SIZES.map((size) => {
    const us = median(samples.get(`${size}\u0000${v.name}`)!);
    const base = median(samples.get(`${size}\u0000${VARIANTS[0]!.name}`)!);
    return v === VARIANTS[0] ? `${us.toFixed(1)} µs` : `${us.toFixed(1)} µs (${(((us - base) / base) * 100).toFixed(0)}%)`;
  });
  console.log(`| ${v.name} | ${cells.join(" | ")} |`);
}
