// The coderd role's options (shared/DESIGN.md "Configuration").
import { join } from "node:path";
import { kinds } from "./kinds.ts";
import type { OptionSpec } from "./load.ts";
import { stateDir } from "./paths.ts";

export const LOG_FORMATS = ["text", "json"] as const;

export function coderdOptions(env: Record<string, string | undefined>): OptionSpec[] {
  return [
    { key: "http_listen", schema: kinds.listen(), default: "127.0.0.1:8477", help: "address of the ingest RPC, query API, /healthz, /readyz and /metrics" },
    { key: "db", schema: kinds.string().regex(/^(sqlite:.+|postgres(ql)?:\/\/.+)$/, "must be sqlite:PATH or postgres://…"), default: `sqlite:${join(stateDir(env), "coderd.db")}`, help: "store: sqlite:PATH or postgres://user:pass@host/db" },
    { key: "agents_file", schema: kinds.string(), default: "", help: "YAML or JSON file of agent identities (token or token_sha256 → workspace, owner, template); reloaded on SIGHUP" },
    { key: "admin_token", schema: kinds.string(), default: "", secret: true, help: "bearer token for the query API and the console (sign in at /)" },
    { key: "admin_token_file", schema: kinds.string(), default: "", help: "file holding the admin token (instead of --admin-token)" },
    { key: "users_file", schema: kinds.string(), default: "", help: "YAML or JSON file of console/query API users (name, token_sha256), so sign-ins and queries are logged by name" },
    { key: "log_format", schema: kinds.enumOf(LOG_FORMATS), default: "text", help: "format of the boundary_request lines on stderr" },
    { key: "retention", schema: kinds.duration(), default: "0", help: "delete records captured longer ago than this; 0 keeps them forever" },
    { key: "retention_interval", schema: kinds.duration(), default: "10m", help: "how often the retention purge runs" },
    { key: "max_body_bytes", schema: kinds.bytes(), default: "16MiB", help: "largest ingest request body accepted" },
    { key: "tls_cert_file", schema: kinds.string(), default: "", help: "PEM certificate: serve HTTPS (with --tls-key-file)" },
    { key: "tls_key_file", schema: kinds.string(), default: "", secret: false, help: "PEM private key for --tls-cert-file" },
  ];
}

export interface CoderdConfig {
  http_listen: { hostname: string; port: number };
  db: string;
  agents_file: string;
  admin_token: string;
  admin_token_file: string;
  users_file: string;
  log_format: (typeof LOG_FORMATS)[number];
  retention: number;
  retention_interval: number;
  max_body_bytes: number;
  tls_cert_file: string;
  tls_key_file: string;
}
