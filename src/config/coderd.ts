// The coderd role's options (shared/DESIGN.md "Configuration").
import { join } from "node:path";
import { kinds } from "./kinds.ts";
import { type ConfigOf, type OptionSpec, type OptionTable, optionList } from "./load.ts";
import { stateDir } from "./paths.ts";

export const LOG_FORMATS = ["text", "json"] as const;

/** The role's option table; CoderdConfig is derived from it. */
export function coderdOptionTable(env: Record<string, string | undefined>) {
  return {
    http_listen: { schema: kinds.listen(), default: "127.0.0.1:8477", help: "address of the ingest RPC, query API, /healthz, /readyz and /metrics" },
    db: { schema: kinds.string().regex(/^(sqlite:.+|postgres(ql)?:\/\/.*)$/, "must be sqlite:PATH or postgres://…"), default: `sqlite:${join(stateDir(env), "coderd.db")}`, help: "store: sqlite:PATH, or postgres://user:password@host:port/database?sslmode=… (PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE fill what the URL leaves out)" },
    agents_file: { schema: kinds.string(), default: "", help: "YAML or JSON file of agent identities (token or token_sha256 → workspace, owner, template); reloaded on SIGHUP" },
    admin_token: { schema: kinds.string(), default: "", secret: true, help: "bearer token for the query API and the console (sign in at /; at least 16 characters)" },
    admin_token_file: { schema: kinds.string(), default: "", help: "file holding the admin token (instead of --admin-token; at least 16 characters)" },
    users_file: { schema: kinds.string(), default: "", help: "YAML or JSON file of console/query API users (name, token_sha256), so sign-ins and queries are logged by name" },
    log_format: { schema: kinds.enumOf(LOG_FORMATS), default: "text", help: "format of the boundary_request lines on stderr" },
    retention: { schema: kinds.duration(), default: "0", help: "delete records captured longer ago than this; 0 keeps them forever" },
    retention_interval: { schema: kinds.duration(), default: "10m", help: "how often the retention purge runs" },
    max_body_bytes: { schema: kinds.bytes(), default: "16MiB", help: "largest ingest request body accepted" },
    tls_cert_file: { schema: kinds.string(), default: "", help: "PEM certificate: serve HTTPS (with --tls-key-file)" },
    tls_key_file: { schema: kinds.string(), default: "", secret: false, help: "PEM private key for --tls-cert-file" },
  } satisfies OptionTable;
}

export function coderdOptions(env: Record<string, string | undefined>): OptionSpec[] {
  return optionList(coderdOptionTable(env));
}

export type CoderdConfig = ConfigOf<ReturnType<typeof coderdOptionTable>>;
