// Shared by the spool and forwarder tests: metrics, a log collector,
// spool options and encoded request bodies.
import { create, toBinary } from "@bufbuild/protobuf";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { Registry } from "prom-client";
import { createAgentMetrics, type AgentMetrics } from "../../../src/agent/metrics.ts";
import { nodeFs, type SpoolFs } from "../../../src/agent/spool/fs.ts";
import { Spool, type SpoolOptions } from "../../../src/agent/spool/spool.ts";
import { ReportBoundaryLogsRequestSchema, type ReportBoundaryLogsRequest } from "../../../src/gen/coder/agent/v2/boundary_pb.ts";

export function newMetrics(): AgentMetrics {
  return createAgentMetrics(new Registry());
}

export function logCollector(): { log: (m: string) => void; lines: string[] } {
  const lines: string[] = [];
  return { lines, log: (m) => lines.push(m) };
}

export function spoolOptions(dir: string, over: Partial<SpoolOptions> = {}): SpoolOptions {
  return {
    dir,
    maxBytes: 64 * 1024 * 1024,
    segmentBytes: 1024 * 1024,
    fsync: "never",
    fsyncIntervalMs: 2,
    metrics: newMetrics(),
    log: () => {},
    ...over,
  };
}

export function openSpool(dir: string, over: Partial<SpoolOptions> = {}): Promise<Spool> {
  return Spool.open(spoolOptions(dir, over));
}

/** A request of `count` records of `session`, numbered from `firstSeq`. */
export function makeRequest(session: string, firstSeq: number, count: number, process = "claude"): ReportBoundaryLogsRequest {
  return create(ReportBoundaryLogsRequestSchema, {
    sessionId: session,
    confinedProcessName: process,
    logs: Array.from({ length: count }, (_, i) => ({
      allowed: (firstSeq + i) % 2 === 0,
      sequenceNumber: firstSeq + i,
      time: { seconds: 1_765_000_000n + BigInt(firstSeq + i), nanos: 5 },
      resource: { case: "httpRequest" as const, value: { method: "GET", url: `https://example.com/${session}/${firstSeq + i}`, matchedRule: "" } },
    })),
  });
}

export function encodeRequest(req: ReportBoundaryLogsRequest): Uint8Array {
  return toBinary(ReportBoundaryLogsRequestSchema, req);
}

export function segmentFiles(dir: string): string[] {
  return readdirSync(dir).filter((n) => n.endsWith(".spool")).sort();
}

/** Bytes of the segment files in `dir` (or of every file `pick` takes). */
export function dirBytes(dir: string, pick: (name: string) => boolean = (n) => n.endsWith(".spool")): number {
  return readdirSync(dir).filter(pick).reduce((n, f) => n + statSync(join(dir, f)).size, 0);
}

/**
 * The real filesystem behind a disk of `capacity` bytes: a write that would
 * take the spool directory's files past it fails with ENOSPC, as a full
 * disk does. `failing.all` makes every write fail (an I/O error).
 */
export function smallDisk(dir: string, capacity: number): { fs: SpoolFs; failing: { all: boolean }; writeErrors: () => number } {
  const failing = { all: false };
  let errors = 0;
  const fail = (code: string) => {
    errors++;
    return Object.assign(new Error(`${code}: simulated`), { code });
  };
  const fs: SpoolFs = {
    ...nodeFs,
    open: async (path, flags) => {
      const file = await nodeFs.open(path, flags);
      return {
        read: (b, o, l, p) => file.read(b, o, l, p),
        sync: () => file.sync(),
        truncate: (n) => file.truncate(n),
        close: () => file.close(),
        write: async (b, o, l, p) => {
          if (failing.all) throw fail("EIO");
          if (dirBytes(dir, () => true) + l > capacity) throw fail("ENOSPC");
          return file.write(b, o, l, p);
        },
      };
    },
  };
  return { fs, failing, writeErrors: () => errors };
}
