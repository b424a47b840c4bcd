// Pure parsers of the /proc/<pid> files an exec record is built from:
// cmdline (argv, NUL-separated) and status (name, parent, uid, gid). No
// I/O: src/process/enrich.ts reads the files.

/** argv beyond this many bytes is cut and the record marked truncated. */
export const MAX_ARGV_BYTES = 32 * 1024;

const utf8 = new TextDecoder("utf-8", { fatal: false });

/**
 * argv from /proc/<pid>/cmdline. Arguments that are not UTF-8 are decoded
 * with U+FFFD in place of bad bytes (the record is protobuf text).
 * `cut` when it held more than MAX_ARGV_BYTES.
 */
export function parseCmdline(bytes: Uint8Array): { argv: string[]; cut: boolean } {
  const cut = bytes.length > MAX_ARGV_BYTES;
  let end = cut ? MAX_ARGV_BYTES : bytes.length;
  if (end > 0 && bytes[end - 1] === 0) end--; // the terminating NUL of the last argument
  if (end === 0) return { argv: [], cut };
  const argv: string[] = [];
  let start = 0;
  for (let i = 0; i <= end; i++) {
    if (i === end || bytes[i] === 0) {
      argv.push(utf8.decode(bytes.subarray(start, i)));
      start = i + 1;
    }
  }
  return { argv, cut };
}

export interface StatusFields {
  /** Command name (the kernel escapes "\\" and newlines in it). */
  comm: string;
  ppid: number;
  /** Real ids. */
  uid: number;
  gid: number;
}

/** Name, PPid, Uid and Gid of /proc/<pid>/status; null when one is missing. */
export function parseStatus(text: string): StatusFields | null {
  const comm = field(text, "Name:");
  const ppid = field(text, "PPid:");
  const uid = field(text, "Uid:");
  const gid = field(text, "Gid:");
  if (comm === null || ppid === null || uid === null || gid === null) return null;
  return {
    comm: comm.replace(/\\(\\|n)/g, (_, c: string) => (c === "n" ? "\n" : "\\")),
    ppid: Number.parseInt(ppid, 10),
    uid: Number.parseInt(uid, 10),
    gid: Number.parseInt(gid, 10),
  };
}

/** The value after `name` (up to a tab or newline) on the line starting with it. */
function field(text: string, name: string): string | null {
  const at = text.startsWith(name) ? 0 : text.indexOf(`\n${name}`) + 1;
  if (at === 0 && !text.startsWith(name)) return null;
  let start = at + name.length;
  while (text[start] === "\t" || text[start] === " ") start++;
  let end = start;
  while (end < text.length && text[end] !== "\t" && text[end] !== "\n") end++;
  return text.slice(start, end);
}

/** argv joined by spaces: the `cmdline` of the exectrace line. */
export const cmdlineOf = (argv: readonly string[]) => argv.join(" ");

/** Whether /proc/<pid>/cgroup lists a cgroup at or below `path` (v2 "0::/p" or any v1 hierarchy). */
export function inCgroup(procCgroup: string, path: string): boolean {
  const prefix = path.endsWith("/") && path !== "/" ? path.slice(0, -1) : path;
  for (const line of procCgroup.split("\n")) {
    const colon = line.indexOf(":", line.indexOf(":") + 1);
    if (colon === -1) continue;
    const p = line.slice(colon + 1);
    if (p === prefix || prefix === "/" || p.startsWith(`${prefix}/`)) return true;
  }
  return false;
}
