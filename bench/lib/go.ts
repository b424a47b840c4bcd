// The Go side of the bench (bench/go-baseline): finds `go`, builds the
// receiver and the blaster into a temp dir, starts the receiver (decoding,
// or -sink: bytes only) on a Unix socket and runs the blaster. Nothing here
// is cached between runs: every bench run builds from the committed source.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { goAndWaitForResult, metric, type Proc, start, waitForLine, waitReady } from "./proc.ts";

export const GO_BASELINE_DIR = join(import.meta.dir, "..", "go-baseline");
export const GO_RECORDS = "go_baseline_records_received_total";
export const GO_BYTES = "go_baseline_bytes_received_total";
/** Frames the receiver could not use: none may occur on the bench's own frames. */
export const GO_REFUSED = ["go_baseline_frames_skipped_total", "go_baseline_connections_closed_bad_frame_total"];

/** `go version` output, or null when no usable `go` is on PATH. */
export function goVersion(): string | null {
  const r = spawnSync("go", ["version"], { encoding: "utf8" });
  return r.status === 0 ? r.stdout.trim() : null;
}

export interface GoPrograms {
  receiver: string;
  blaster: string;
  dir: string;
  remove(): void;
}

export class GoBuildError extends Error {
  constructor(readonly program: string, readonly output: string) {
    super(`go build ./${program} in ${GO_BASELINE_DIR} failed:\n${output}`);
    this.name = "GoBuildError";
  }
}

/** `go build`s both programs into a fresh temp dir (modules from the Go module proxy or its cache). */
export function buildGoPrograms(): GoPrograms {
  const dir = mkdtempSync(join(tmpdir(), "bench-go-"));
  const build = (program: string) => {
    const out = join(dir, program);
    const r = spawnSync("go", ["build", "-o", out, `./${program}`], { cwd: GO_BASELINE_DIR, encoding: "utf8" });
    if (r.status !== 0) throw new GoBuildError(program, `${r.stdout}${r.stderr}`);
    return out;
  };
  try {
    return { receiver: build("receiver"), blaster: build("blaster"), dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

export interface GoReceiver {
  proc: Proc;
  port: number;
  socket: string;
  /** Records decoded so far (bytes read, for a sink). */
  count(): Promise<number>;
  /** Throws when the receiver skipped a frame or closed a connection: the comparison would be unfair. */
  assertNothingRefused(): Promise<void>;
  close(): Promise<void>;
}

/** Starts the receiver on `socket`; `sink` makes it read bytes without decoding. */
export async function startGoReceiver(binary: string, socket: string, sink = false): Promise<GoReceiver> {
  const proc = start(binary, ["-socket", socket, ...(sink ? ["-sink"] : [])], ["ignore", "pipe", "inherit"]);
  try {
    const ready = await waitForLine(proc.child, (l) => l.startsWith("ready http="), 30_000);
    const port = Number(ready.slice(ready.lastIndexOf(":") + 1));
    await waitReady(port, proc, "/healthz");
    proc.child.stdout!.resume(); // the final JSON line on SIGTERM: not needed here
    const assertNothingRefused = async () => {
      for (const name of GO_REFUSED) {
        const n = await metric(port, name);
        if (n !== 0) throw new Error(`the Go receiver refused the bench's frames: ${name} = ${n}`);
      }
    };
    return { proc, port, socket, count: () => metric(port, sink ? GO_BYTES : GO_RECORDS), assertNothingRefused, close: () => proc.stop() };
  } catch (err) {
    await proc.stop();
    throw err;
  }
}

export interface Blast {
  proc: Proc;
  /** Starts writing; resolves with the blaster's own figures once it wrote and closed everything. */
  go(): Promise<{ bytes: number; elapsedMs: number }>;
}

/** Starts the blaster: one connection per file, each file written `repeat` times; resolves once connected. */
export async function startBlaster(binary: string, socket: string, files: string[], repeat: number): Promise<Blast> {
  const proc = start(binary, ["-socket", socket, "-repeat", String(repeat), ...files], ["pipe", "pipe", "inherit"]);
  try {
    await waitForLine(proc.child, (l) => l === "ready", 30_000);
  } catch (err) {
    await proc.stop();
    throw err;
  }
  return {
    proc,
    go: () => goAndWaitForResult(proc),
  };
}
