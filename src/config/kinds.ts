// Value kinds for configuration fields, as zod schemas. Each accepts the
// string a flag or environment variable gives as well as the native value
// a YAML/JSON file gives, and yields the typed value.
import { z } from "zod";

const UNITS: Record<string, number> = {
  "": 1, b: 1,
  k: 1e3, kb: 1e3, m: 1e6, mb: 1e6, g: 1e9, gb: 1e9, t: 1e12, tb: 1e12,
  ki: 1024, kib: 1024, mi: 1024 ** 2, mib: 1024 ** 2, gi: 1024 ** 3, gib: 1024 ** 3, ti: 1024 ** 4, tib: 1024 ** 4,
};

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** "64MiB", "1GB", "1048576" → bytes. */
export function parseBytes(text: string): number | null {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text);
  if (!m) return null;
  const unit = UNITS[m[2]!.toLowerCase()];
  return unit === undefined ? null : Math.floor(Number(m[1]) * unit);
}

/** "250ms", "5s", "1h30m", "30d", "0", "250" (a plain number is milliseconds) → milliseconds. */
export function parseDuration(text: string): number | null {
  const trimmed = text.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/gy;
  let total = 0;
  let consumed = 0;
  for (let m = re.exec(trimmed); m; m = re.exec(trimmed)) {
    total += Number(m[1]) * DURATION_UNITS[m[2]!]!;
    consumed = re.lastIndex;
  }
  return consumed === trimmed.length && consumed > 0 ? Math.round(total) : null;
}

/** "0644", "644", "0o644" → 0o644; anything else → null. */
export function parseFileMode(text: string): number | null {
  const m = /^(?:0o?)?([0-7]{3,4})$/i.exec(text.trim());
  return m ? Number.parseInt(m[1]!, 8) : null;
}

function fromText<T>(parse: (s: string) => T | null, what: string) {
  return (value: string | number, ctx: z.RefinementCtx): T => {
    const parsed = typeof value === "number" ? (value as T) : parse(value);
    if (parsed === null || (typeof parsed === "number" && (!Number.isFinite(parsed) || parsed < 0))) {
      ctx.addIssue({ code: "custom", message: `${JSON.stringify(value)} is not ${what}` });
      return z.NEVER;
    }
    return parsed;
  };
}

/** The URLs of a `kinds.urls()` value, trimmed, empty parts dropped. */
export function splitUrls(s: string): string[] {
  return s.split(",").map((u) => u.trim()).filter(Boolean);
}

export const kinds = {
  string: () => z.string(),
  url: () =>
    z.string().refine((s) => s === "" || URL.canParse(s), { message: "is not a URL (e.g. https://coder.example.com)" }),
  /** One URL or several, comma-separated (a config file may also give a list): kept as one comma-separated string. */
  urls: () =>
    z.union([z.string(), z.array(z.string())])
      .transform((v) => (Array.isArray(v) ? v.join(",") : v))
      .refine((s) => s === "" || splitUrls(s).every((u) => URL.canParse(u)), {
        message: "is not a URL or a comma-separated list of URLs (e.g. https://coderd-1.example,https://coderd-2.example)",
      }),
  int: (min: number, max: number) =>
    z.coerce
      .number({ error: "is not a whole number" })
      .int({ error: "is not a whole number" })
      .min(min, { error: `must be at least ${min}` })
      .max(max, { error: `must be at most ${max}` }),
  bool: () =>
    z.union(
      [
        z.boolean(),
        z.enum(["true", "false", "1", "0", "yes", "no"]).transform((s) => s === "true" || s === "1" || s === "yes"),
      ],
      { error: "is not true or false (1/0, yes/no also work)" },
    ),
  enumOf: <const T extends readonly [string, ...string[]]>(values: T) => z.enum(values),
  /** Bytes, in milliseconds-free units: "64MiB", "1GB" or a plain number. */
  bytes: () => z.union([z.number(), z.string()]).transform(fromText(parseBytes, "a size such as 64MiB or 1GB")),
  /** Milliseconds: "5s", "250ms", "1h30m", "30d", or a number of milliseconds. */
  duration: () =>
    z.union([z.number(), z.string()]).transform(fromText(parseDuration, "a duration such as 250ms, 5s, 1h or 30d")),
  /**
   * A Unix file mode, always read as octal digits, as chmod reads them:
   * "0600", "600", "0o600". A file gives its numbers as written (see
   * load.ts), so YAML's unquoted 0644 is 0644, not the decimal 644.
   */
  fileMode: () =>
    z.union([z.number(), z.string()]).transform((value, ctx) => {
      const mode = parseFileMode(String(value));
      if (mode === null) {
        ctx.addIssue({ code: "custom", message: `${JSON.stringify(value)} is not an octal file mode such as 0600 (at most 07777)` });
        return z.NEVER;
      }
      return mode;
    }),
  /** host:port for a listener: "127.0.0.1:9100", "[::1]:9100", ":9100". */
  listen: () =>
    z.string().transform((s, ctx) => {
      const parsed = parseListen(s);
      if (!parsed) {
        ctx.addIssue({ code: "custom", message: `${JSON.stringify(s)} is not host:port (e.g. 127.0.0.1:9100)` });
        return z.NEVER;
      }
      return parsed;
    }),
};

export interface ListenAddress {
  hostname: string;
  port: number;
}

/** The inverse of parseListen: `127.0.0.1:9100`, `[::1]:9100`. */
export function formatListen(a: ListenAddress): string {
  return `${a.hostname.includes(":") ? `[${a.hostname}]` : a.hostname}:${a.port}`;
}

export function parseListen(text: string): ListenAddress | null {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(text.trim());
  if (!m) return null;
  const port = Number(m[3]);
  if (port > 65535) return null;
  return { hostname: m[1] ?? (m[2] || "0.0.0.0"), port };
}
