// Secrets given either directly (--agent-token) or as a file
// (--agent-token-file), never both; a file's content is trimmed. Problems
// are ConfigErrors naming the field, so the CLI exits 2.
import { readFileSync } from "node:fs";
import { ConfigError, flagOf } from "./load.ts";

/** The secret `config[key]`, or the content of the file `config[`${key}_file`]`. */
export function resolveSecret<K extends string>(config: Record<K | `${K}_file`, string>, key: K): string {
  const fileKey = `${key}_file` as const;
  const value = config[key];
  const file = config[fileKey];
  if (value && file) {
    throw new ConfigError([{ field: fileKey, where: flagOf(fileKey), message: `give ${flagOf(key)} or ${flagOf(fileKey)}, not both` }]);
  }
  if (!file) return value;
  try {
    return readFileSync(file, "utf8").trim();
  } catch (err) {
    // `where` names the option; the path is in the message (issue #13: it named the value).
    throw new ConfigError([{ field: fileKey, where: flagOf(fileKey), message: `cannot read ${file}: ${(err as Error).message}` }]);
  }
}
