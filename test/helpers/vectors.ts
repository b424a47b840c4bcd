// Loads shared/vectors (copied into test/vectors) and turns decoded frames
// into the JSON shape the vectors' .json files use.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { DecodedFrame } from "../../src/wire/decoder.ts";

export const VECTOR_DIR = join(import.meta.dir, "..", "vectors");

export interface Vector {
  name: string;
  bytes: Uint8Array;
  expected: { valid: boolean; error?: string; messages?: unknown[] };
}

export function loadVectors(): Vector[] {
  return readdirSync(VECTOR_DIR)
    .filter((f) => f.endsWith(".bin"))
    .map((f) => {
      const name = f.slice(0, -4);
      return {
        name,
        bytes: new Uint8Array(readFileSync(join(VECTOR_DIR, f))),
        expected: JSON.parse(readFileSync(join(VECTOR_DIR, `${name}.json`), "utf8")),
      };
    });
}

export function vector(name: string): Vector {
  const found = loadVectors().find((v) => v.name === name);
  if (!found) throw new Error(`no vector ${name}`);
  return found;
}

/** The vectors' JSON view of one decoded frame. */
export function frameToVectorJson(frame: DecodedFrame): unknown {
  switch (frame.kind) {
    case "logs":
      return {
        tag: frame.tag,
        kind: "logs",
        session_id: frame.request.sessionId,
        confined_process_name: frame.request.confinedProcessName,
        logs: frame.request.logs.map((log) => ({
          allowed: log.allowed,
          time: { seconds: Number(log.time?.seconds ?? 0), nanos: log.time?.nanos ?? 0 },
          http_request:
            log.resource.case === "httpRequest"
              ? { method: log.resource.value.method, url: log.resource.value.url, matched_rule: log.resource.value.matchedRule }
              : undefined,
          sequence_number: log.sequenceNumber,
        })),
      };
    case "status":
      return {
        tag: 2,
        kind: "status",
        dropped_channel_full: Number(frame.status.droppedChannelFull),
        dropped_batch_full: Number(frame.status.droppedBatchFull),
      };
    case "unknown":
      return { tag: 2, kind: "unknown" };
    case "error":
      return { error: frame.error.reason };
  }
}
