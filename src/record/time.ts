// Time formats of emitted records: RFC 3339 with nanoseconds the way Go's
// time.RFC3339Nano prints them (trailing zeros trimmed), and the
// millisecond log-line timestamp.
import type { Timestamp } from "@bufbuild/protobuf/wkt";

const pad = (n: number, width = 2) => String(n).padStart(width, "0");

/** Years 1–9999 (the only ones a valid record holds) print with four digits, as in Go. */
function isoSeconds(date: Date): string {
  return (
    `${pad(date.getUTCFullYear(), 4)}-${pad(date.getUTCMonth() + 1)}-${pad(date.getUTCDate())}` +
    `T${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())}`
  );
}

// Records of a batch mostly share their second: format it once.
let cachedSeconds = Number.NaN;
let cachedBase = "";

/** `2025-12-08T20:58:47.000000005Z`; fraction trimmed, omitted when zero. */
export function rfc3339Nano(ts: Timestamp | undefined): string {
  const seconds = ts ? Number(ts.seconds) : 0;
  const nanos = ts ? ts.nanos : 0;
  if (seconds !== cachedSeconds) {
    cachedSeconds = seconds;
    cachedBase = isoSeconds(new Date(seconds * 1000));
  }
  const base = cachedBase;
  if (nanos === 0) return `${base}Z`;
  return `${base}.${pad(nanos, 9).replace(/0+$/, "")}Z`;
}

/** `2025-12-08 20:58:46.093`, UTC: the leading timestamp of a text line. */
export function logLineTime(date: Date): string {
  return `${isoSeconds(date).replace("T", " ")}.${pad(date.getUTCMilliseconds(), 3)}`;
}
