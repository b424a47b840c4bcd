// Picks the agent's RecordOutput from --output: stdout (JSON lines),
// discard (benchmarks), or coderd (durable spool + forwarder). `auto` is
// coderd when a coderd URL is configured, else stdout. Problems that are
// really configuration (no token, unusable spool directory) become
// ConfigErrors, so the CLI exits 2 naming the field.
import { readFileSync } from "node:fs";
import type { Writable } from "node:stream";
import type { AgentConfig } from "../../config/agent.ts";
import { ConfigError } from "../../config/load.ts";
import { probeDirectory } from "../../config/probe.ts";
import { resolveSecret } from "../../config/secrets.ts";
import { type AgentMetrics, execDeliveryMetrics } from "../metrics.ts";
import type { RecordOutput } from "../output.ts";
import { SpoolDirError, spoolBudgetProblem } from "../spool/spool.ts";
import { CaFileError, CoderdOutput } from "./coderd.ts";
import { DiscardOutput } from "./discard.ts";
import { StdoutOutput } from "./stdout.ts";

export interface OutputDeps {
  metrics: AgentMetrics;
  stdout?: Writable;
  now?: () => Date;
  log: (line: string) => void;
}

/** Which output `config` asks for, after resolving `auto`. */
export function resolveOutputKind(config: Pick<AgentConfig, "output" | "coderd_url">): "coderd" | "stdout" | "discard" {
  if (config.output !== "auto") return config.output;
  return config.coderd_url !== "" ? "coderd" : "stdout";
}

function configError(field: string, where: string, message: string): ConfigError {
  return new ConfigError([{ field, where, message }]);
}

/**
 * Checks what the chosen output needs beyond the option table's own rules
 * (used by the agent and by `config check`); returns the resolved agent
 * token for the coderd output.
 */
export function checkOutputConfig(config: AgentConfig): { token: string } {
  if (resolveOutputKind(config) !== "coderd") return { token: "" };
  if (!config.coderd_url) throw configError("coderd_url", "--coderd-url", "is required for --output coderd");
  const token = resolveSecret(config, "agent_token");
  if (!token) throw configError("agent_token", "--agent-token", "is required for --output coderd (or --agent-token-file, CODER_AGENT_TOKEN)");
  if (!config.spool_dir) throw configError("spool_dir", "--spool-dir", "is required for --output coderd: records are acknowledged only once durable on disk");
  const budget = spoolBudgetProblem(config.spool_max_bytes);
  if (budget) throw configError("spool_max_bytes", "--spool-max-bytes", budget);
  return { token };
}

/**
 * checkOutputConfig, plus what opening the coderd output would refuse,
 * tried without starting it (`config check`): a --spool-dir that cannot be
 * made or written (made and removed again), an unreadable --ca-file.
 */
export function probeOutputConfig(config: AgentConfig): void {
  checkOutputConfig(config);
  if (resolveOutputKind(config) !== "coderd") return;
  try {
    probeDirectory(config.spool_dir);
  } catch (err) {
    throw configError("spool_dir", "--spool-dir", new SpoolDirError(config.spool_dir, err).message);
  }
  if (!config.ca_file) return;
  try {
    readFileSync(config.ca_file);
  } catch (err) {
    throw configError("ca_file", "--ca-file", new CaFileError(config.ca_file, err).message);
  }
}

async function openCoderdOutput(config: AgentConfig, deps: OutputDeps, kind: "boundary" | "exec" = "boundary"): Promise<CoderdOutput> {
  const { token } = checkOutputConfig(config);
  const resolved = { ...config, agent_token: token };
  try {
    if (kind === "exec") return await CoderdOutput.openExec(resolved, execDeliveryMetrics(deps.metrics), deps.log);
    return await CoderdOutput.open(resolved, deps.metrics, deps.log);
  } catch (err) {
    if (err instanceof SpoolDirError) throw configError("spool_dir", "--spool-dir", err.message);
    if (err instanceof CaFileError) throw configError("ca_file", "--ca-file", err.message);
    throw err;
  }
}

/** --process-log with --output coderd: the exec records' spool (<spool-dir>/exec/) and forwarder. */
export function openExecOutput(config: AgentConfig, deps: Pick<OutputDeps, "metrics" | "log">): Promise<CoderdOutput> {
  return openCoderdOutput(config, deps, "exec");
}

export async function selectOutput(config: AgentConfig, deps: OutputDeps): Promise<RecordOutput> {
  switch (resolveOutputKind(config)) {
    case "stdout":
      return new StdoutOutput({ metrics: deps.metrics, stream: deps.stdout, now: deps.now });
    case "discard":
      return new DiscardOutput(deps.metrics);
    case "coderd":
      return openCoderdOutput(config, deps);
  }
}
