// Builds a role's effective configuration from its option table. Sources,
// highest first: flags, environment, the --config file (YAML or JSON),
// defaults. Every error names the field and the source it came from;
// unknown flags and unknown file keys are errors.
import { readFileSync } from "node:fs";
import { isMap, isScalar, parseDocument } from "yaml";
import { z } from "zod";
import { REDACTED, redactUrlPasswords } from "./redact.ts";

export interface OptionSpec {
  /** snake_case: the file key; the environment name is BOUNDARY_RELAY_<KEY>. */
  key: string;
  schema: z.ZodType;
  help: string;
  /** Raw default, parsed by `schema` like any other source; omit for none. */
  default?: unknown;
  /** Further environment names, after BOUNDARY_RELAY_<KEY> (e.g. CODER_AGENT_URL). */
  env?: string[];
  secret?: boolean;
  /** Flag with no value (`--demo`). */
  boolean?: boolean;
  /** Hidden from --help and the reference. */
  hidden?: boolean;
}

/** An option table: option name → its spec. The name is the file key (snake_case). */
export type OptionTable = Record<string, Omit<OptionSpec, "key">>;

/** The configuration an option table yields: each option's schema output, so types cannot drift from the table. */
export type ConfigOf<T extends OptionTable> = { -readonly [K in keyof T]: z.output<T[K]["schema"]> };

/** The table as a list of specs, in table order. */
export function optionList(table: OptionTable): OptionSpec[] {
  return Object.entries(table).map(([key, spec]) => ({ key, ...spec }));
}

export type SourceKind = "flag" | "env" | "file" | "default";

export interface Sourced {
  value: unknown;
  kind: SourceKind;
  /** e.g. `--socket-mode`, `BOUNDARY_RELAY_SOCKET_MODE`, `/etc/x.yaml: socket_mode`. */
  where: string;
}

export interface ConfigIssue {
  field: string;
  where: string;
  message: string;
}

export class ConfigError extends Error {
  constructor(readonly issues: ConfigIssue[]) {
    super(issues.map(formatIssue).join("\n"));
    this.name = "ConfigError";
  }
}

export function formatIssue(issue: ConfigIssue): string {
  return `${issue.field} (from ${issue.where}): ${issue.message}`;
}

export const flagOf = (key: string) => `--${key.replaceAll("_", "-")}`;
export const envOf = (key: string) => `BOUNDARY_RELAY_${key.toUpperCase()}`;

export interface LoadInput {
  argv: string[];
  env: Record<string, string | undefined>;
  /** Positional arguments allowed (else they are errors). */
  positionals?: boolean;
}

export interface Loaded<T> {
  config: T;
  sources: Record<string, Sourced>;
  positionals: string[];
}

const CONFIG_SPEC: OptionSpec = {
  key: "config",
  schema: z.string(),
  help: "YAML or JSON file of options (keys are the snake_case option names)",
};

interface ParsedArgs {
  flags: Map<string, Sourced>;
  positionals: string[];
  issues: ConfigIssue[];
}

function parseArgv(argv: string[], specs: OptionSpec[], allowPositionals: boolean): ParsedArgs {
  const byFlag = new Map([...specs, CONFIG_SPEC].map((s) => [flagOf(s.key), s]));
  const out: ParsedArgs = { flags: new Map(), positionals: [], issues: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith("--") || arg === "--") {
      if (arg === "--") {
        out.positionals.push(...argv.slice(i + 1));
        break;
      }
      if (allowPositionals) out.positionals.push(arg);
      else out.issues.push({ field: arg, where: "command line", message: "unexpected argument" });
      continue;
    }
    const eq = arg.indexOf("=");
    const name = eq === -1 ? arg : arg.slice(0, eq);
    const spec = byFlag.get(name);
    if (!spec) {
      out.issues.push({ field: name, where: "command line", message: "unknown flag (see --help)" });
      // Its value (`--bogus 5`) belongs to it: not a second error as an unexpected argument.
      if (eq === -1 && argv[i + 1] !== undefined && !argv[i + 1]!.startsWith("-")) i++;
      continue;
    }
    let value: string | undefined = eq === -1 ? undefined : arg.slice(eq + 1);
    if (value === undefined && spec.boolean) value = "true";
    if (value === undefined) {
      value = argv[i + 1];
      if (value === undefined) {
        out.issues.push({ field: spec.key, where: name, message: "needs a value" });
        continue;
      }
      i++;
    }
    out.flags.set(spec.key, { value, kind: "flag", where: name });
  }
  return out;
}

/**
 * The file's top-level mapping. A number is passed on as written (`0644`,
 * `1e3`, `250`), the way a flag or variable would give it, so each kind
 * reads it by its own rules: YAML would read `0644` as the decimal 644
 * (mode 01204) and `agent_token: 123…` as a number.
 */
function readConfigFile(path: string, specs: OptionSpec[], issues: ConfigIssue[]): Map<string, Sourced> {
  const out = new Map<string, Sourced>();
  let doc: ReturnType<typeof parseDocument>;
  try {
    doc = parseDocument(readFileSync(path, "utf8"));
  } catch (err) {
    issues.push({ field: "config", where: path, message: `cannot read: ${(err as Error).message}` });
    return out;
  }
  if (doc.errors.length > 0) {
    issues.push({ field: "config", where: path, message: `cannot read: ${doc.errors[0]!.message}` });
    return out;
  }
  if (doc.contents === null || (isScalar(doc.contents) && doc.contents.value === null)) return out;
  if (!isMap(doc.contents)) {
    issues.push({ field: "config", where: path, message: "must be a mapping of option names to values" });
    return out;
  }
  const plain = doc.toJS() as Record<string, unknown>;
  const known = new Set(specs.map((s) => s.key));
  for (const { key: keyNode, value: node } of doc.contents.items) {
    const key = String(isScalar(keyNode) ? keyNode.value : keyNode);
    if (!known.has(key)) {
      issues.push({ field: key, where: `${path}: ${key}`, message: "unknown key" });
      continue;
    }
    const asWritten = isScalar(node) && typeof node.value === "number" ? node.source : undefined;
    out.set(key, { value: asWritten ?? plain[key], kind: "file", where: `${path}: ${key}` });
  }
  return out;
}

function fromEnv(spec: OptionSpec, env: LoadInput["env"]): Sourced | undefined {
  for (const name of [envOf(spec.key), ...(spec.env ?? [])]) {
    const value = env[name];
    if (value !== undefined && value !== "") return { value, kind: "env", where: name };
  }
  return undefined;
}

function zodMessage(error: z.ZodError): string {
  return error.issues.map((i) => i.message).join("; ");
}

/**
 * Loads and validates; throws ConfigError listing every problem. The one
 * cast of the configuration happens here, after every field passed its
 * schema; prefer loadOptions, whose T comes from the table itself.
 */
export function loadConfig<T>(specs: OptionSpec[], input: LoadInput): Loaded<T> {
  const args = parseArgv(input.argv, specs, input.positionals ?? false);
  const issues = [...args.issues];
  const configPath = (args.flags.get("config")?.value ?? input.env[envOf("config")]) as string | undefined;
  const file = configPath ? readConfigFile(configPath, specs, issues) : new Map<string, Sourced>();
  const config: Record<string, unknown> = {};
  const sources: Record<string, Sourced> = {};
  for (const spec of specs) {
    const chosen: Sourced | undefined =
      args.flags.get(spec.key) ??
      fromEnv(spec, input.env) ??
      file.get(spec.key) ??
      (spec.default === undefined ? undefined : { value: spec.default, kind: "default", where: "default" });
    if (!chosen) continue;
    const result = spec.schema.safeParse(chosen.value);
    if (!result.success) {
      issues.push({ field: spec.key, where: chosen.where, message: zodMessage(result.error) });
      continue;
    }
    config[spec.key] = result.data;
    sources[spec.key] = chosen;
  }
  if (configPath) sources.config = { value: configPath, kind: args.flags.has("config") ? "flag" : "env", where: "--config" };
  if (issues.length > 0) throw new ConfigError(issues);
  return { config: config as T, sources, positionals: args.positionals };
}

/** loadConfig for an option table, typed by the table (ConfigOf). */
export function loadOptions<T extends OptionTable>(table: T, input: LoadInput): Loaded<ConfigOf<T>> {
  return loadConfig<ConfigOf<T>>(optionList(table), input);
}

/** The effective configuration, one `key: value  # source` line each, secrets redacted. */
export function describeConfig(specs: OptionSpec[], loaded: Loaded<unknown>): string {
  const config = loaded.config as Record<string, unknown>;
  const lines: string[] = [];
  for (const spec of specs) {
    if (!(spec.key in config)) continue;
    const raw = loaded.sources[spec.key]?.value;
    const shown = spec.secret && raw !== "" ? REDACTED : redactUrlPasswords(JSON.stringify(raw));
    lines.push(`${spec.key}: ${shown}  # ${loaded.sources[spec.key]?.where ?? "default"}`);
  }
  return lines.join("\n");
}

/** --help text for a command built from its option table. */
export function helpText(usage: string, summary: string, specs: OptionSpec[]): string {
  const rows = [...specs, CONFIG_SPEC]
    .filter((s) => !s.hidden)
    .map((s) => {
      const flag = s.boolean ? flagOf(s.key) : `${flagOf(s.key)} VALUE`;
      const env = [envOf(s.key), ...(s.env ?? [])].join(", ");
      const def = s.default === undefined || s.default === "" ? "" : ` (default: ${String(s.default)})`;
      return `  ${flag}\n      ${s.help}${def}\n      env: ${env}`;
    });
  return `usage: ${usage}\n\n${summary}\n\noptions:\n${rows.join("\n")}\n`;
}
