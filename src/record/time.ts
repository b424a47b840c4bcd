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

// Records of a batch mostly share their second, and nearly always their day:
// the second's text is kept, and the day's, from which any second of that
// day is written with arithmetic alone.
let cachedSeconds = Number.NaN;
let cachedBase = "";
let cachedDay = Number.NaN;
let cachedDayText = "";
const DAY_SECONDS = 86_400;
const TWO_DIGITS = Array.from({ length: 60 }, (_, n) => pad(n));

function secondsText(seconds: number): string {
  const day = Math.floor(seconds / DAY_SECONDS);
  if (day !== cachedDay) {
    cachedDay = day;
    cachedDayText = isoSeconds(new Date(day * DAY_SECONDS * 1000)).slice(0, 11);
  }
  const inDay = seconds - day * DAY_SECONDS;
  const hours = Math.floor(inDay / 3600);
  const minutes = Math.floor((inDay % 3600) / 60);
  return `${cachedDayText}${TWO_DIGITS[hours]}:${TWO_DIGITS[minutes]}:${TWO_DIGITS[inDay % 60]}`;
}

/** `2025-12-08T20:58:47.000000005Z`; fraction trimmed, omitted when zero. */
export function rfc3339Nano(ts: Timestamp | undefined): string {
  const seconds = ts ? Number(ts.seconds) : 0;
  const nanos = ts ? ts.nanos : 0;
  if (seconds !== cachedSeconds) {
    cachedSeconds = seconds;
    cachedBase = secondsText(seconds);
  }
  const base = cachedBase;
  if (nanos === 0) return `${base}Z`;
  return `${base}.${fraction(nanos)}Z`;
}

/** Nanoseconds as nine digits, trailing zeros trimmed (nanos > 0). */
function fraction(nanos: number): string {
  let n = nanos;
  let width = 9;
  while (n % 10 === 0) {
    n /= 10;
    width--;
  }
  return String(n).padStart(width, "0");
}

/** `2025-12-08 20:58:46.093`, UTC: the leading timestamp of a text line. */
export function logLineTime(date: Date): string {
  return `${isoSeconds(date).replace("T", " ")}.${pad(date.getUTCMilliseconds(), 3)}`;
}
