// The filesystem as the spool sees it: the few calls it makes, as one
// interface with one production implementation (node:fs/promises), so a
// test can put a failing one in its place (a full disk, a failed write)
// without touching the real disk. Nothing here decides anything.
import * as fsp from "node:fs/promises";

/** An open file: the calls the spool makes on one (node's FileHandle has them all). */
export interface SpoolFile {
  read(buffer: Uint8Array, offset: number, length: number, position: number): Promise<{ bytesRead: number }>;
  write(buffer: Uint8Array, offset: number, length: number, position: number): Promise<{ bytesWritten: number }>;
  sync(): Promise<void>;
  truncate(length: number): Promise<void>;
  close(): Promise<void>;
}

export type EntryKind = "file" | "directory" | "other";

export interface SpoolFs {
  /** "r": read an existing file; "wx": create a new one (fails if it exists); "w": create or truncate. */
  open(path: string, flags: "r" | "wx" | "w"): Promise<SpoolFile>;
  /** Names in `dir` with what each is (symbolic links are "other": never followed). */
  list(dir: string): Promise<Array<{ name: string; kind: EntryKind }>>;
  size(path: string): Promise<number>;
  unlink(path: string): Promise<void>;
  mkdir(path: string): Promise<void>;
}

export const nodeFs: SpoolFs = {
  open: (path, flags) => fsp.open(path, flags),
  list: async (dir) =>
    (await fsp.readdir(dir, { withFileTypes: true })).map((d) => ({
      name: d.name,
      kind: d.isFile() ? "file" : d.isDirectory() ? "directory" : "other",
    })),
  size: async (path) => (await fsp.stat(path)).size,
  unlink: (path) => fsp.unlink(path),
  mkdir: async (path) => void (await fsp.mkdir(path, { recursive: true, mode: 0o700 })),
};

/** The errno code of a filesystem error ("ENOENT", "ENOSPC", …), or null. */
export function errnoOf(err: unknown): string | null {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : null;
}
