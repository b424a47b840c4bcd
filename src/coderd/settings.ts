// coderd's start-up rules beyond each option's own schema, in one function
// that both `boundary-relay coderd` (through startCoderd) and `config check
// --role coderd` run, so the check accepts exactly what start-up accepts:
// - --db names a store this build supports (store/open.ts); `config check`
//   also makes and removes its directory and file, as start-up would make them;
// - the admin token, from --admin-token or a readable --admin-token-file, is
//   empty (query API off) or at least ADMIN_TOKEN_MIN_LENGTH characters;
// - --tls-cert-file and --tls-key-file come together and are readable;
// - --agents-file, when given, is readable and every entry valid.
// Every refusal is a ConfigError naming the field (the CLI exits 2).
import { readFileSync } from "node:fs";
import type { CoderdConfig } from "../config/coderd.ts";
import { ConfigError, type ConfigIssue, flagOf } from "../config/load.ts";
import { resolveSecret } from "../config/secrets.ts";
import { AgentsFileError } from "./identities/schema.ts";
import { IdentityTable } from "./identities/table.ts";
import { StoreError } from "./store/errors.ts";
import { checkStoreLocation, probeStoreLocation } from "./store/open.ts";

/** Shorter admin tokens are refused: the query API reads every workspace's records. */
export const ADMIN_TOKEN_MIN_LENGTH = 16;

export interface CoderdSettings {
  /** "" when the query API is off. */
  adminToken: string;
  tls: { cert: string; key: string } | undefined;
  /** From --agents-file; undefined when no file was given. */
  identities: IdentityTable | undefined;
}

export interface ResolveOptions {
  /** Also try to make the --db directory and file, then remove them (config check; start-up makes them for real). */
  probeStore?: boolean;
}

/** Applies every start-up rule; throws one ConfigError listing every problem found. */
export function resolveCoderdSettings(config: CoderdConfig, opts: ResolveOptions = {}): CoderdSettings {
  const issues: ConfigIssue[] = [];
  const attempt = <T>(step: () => T): T | undefined => {
    try {
      return step();
    } catch (err) {
      if (!(err instanceof ConfigError || err instanceof AgentsFileError)) throw err;
      issues.push(...err.issues);
      return undefined;
    }
  };
  attempt(() => checkedStoreLocation(config.db, opts.probeStore ?? false));
  const adminToken = attempt(() => checkedAdminToken(config)) ?? "";
  const tls = attempt(() => readTls(config));
  const identities = config.agents_file ? attempt(() => IdentityTable.fromFile(config.agents_file)) : undefined;
  if (issues.length > 0) throw new ConfigError(issues);
  return { adminToken, tls, identities };
}

/** The store's own refusal of a --db location, as the configuration error it is. */
function checkedStoreLocation(db: string, probe: boolean): void {
  try {
    if (probe) probeStoreLocation(db);
    else checkStoreLocation(db);
  } catch (err) {
    if (!(err instanceof StoreError && err.failure === "bad_location")) throw err;
    throw new ConfigError([{ field: "db", where: flagOf("db"), message: err.message }]);
  }
}

function checkedAdminToken(config: CoderdConfig): string {
  const token = resolveSecret(config, "admin_token");
  if (token !== "" && token.length < ADMIN_TOKEN_MIN_LENGTH) {
    const field = config.admin_token_file ? "admin_token_file" : "admin_token";
    throw new ConfigError([{
      field, where: flagOf(field),
      message: `the admin token is ${token.length} characters; it must be at least ${ADMIN_TOKEN_MIN_LENGTH} (e.g. openssl rand -base64 24)`,
    }]);
  }
  return token;
}

function readTls(config: CoderdConfig): CoderdSettings["tls"] {
  if (!config.tls_cert_file && !config.tls_key_file) return undefined;
  const missing = config.tls_cert_file ? "tls_key_file" : "tls_cert_file";
  if (!config.tls_cert_file || !config.tls_key_file) {
    throw new ConfigError([{ field: missing, where: flagOf(missing), message: "HTTPS needs both --tls-cert-file and --tls-key-file" }]);
  }
  return { cert: readPem(config.tls_cert_file, "tls_cert_file"), key: readPem(config.tls_key_file, "tls_key_file") };
}

function readPem(path: string, field: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (err) {
    throw new ConfigError([{ field, where: flagOf(field), message: `cannot read ${path}: ${(err as Error).message}` }]);
  }
}
