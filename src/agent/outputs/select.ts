// Picks the agent's RecordOutput from --output. The single place where the
// coderd forwarder (src/agent/outputs/coderd.ts) plugs in: `coderd`, and
// `auto` with a coderd URL, will construct it here.
import type { Writable } from "node:stream";
import type { AgentConfig } from "../../config/agent.ts";
import { ConfigError } from "../../config/load.ts";
import type { AgentMetrics } from "../metrics.ts";
import type { RecordOutput } from "../output.ts";
import { DiscardOutput } from "./discard.ts";
import { StdoutOutput } from "./stdout.ts";

export interface OutputDeps {
  metrics: AgentMetrics;
  stdout?: Writable;
  now?: () => Date;
}

/** Which output `config` asks for, after resolving `auto`. */
export function resolveOutputKind(config: Pick<AgentConfig, "output" | "coderd_url">): "coderd" | "stdout" | "discard" {
  if (config.output !== "auto") return config.output;
  // auto: coderd when a URL is set — once the forwarder exists. Until then, stdout.
  const coderdAvailable = false;
  return coderdAvailable && config.coderd_url !== "" ? "coderd" : "stdout";
}

export function selectOutput(config: AgentConfig, deps: OutputDeps): RecordOutput {
  const kind = resolveOutputKind(config);
  switch (kind) {
    case "stdout":
      return new StdoutOutput({ metrics: deps.metrics, stream: deps.stdout, now: deps.now });
    case "discard":
      return new DiscardOutput(deps.metrics);
    case "coderd":
      throw new ConfigError([
        { field: "output", where: "--output", message: "coderd forwarding is not available yet in this build; use stdout or discard" },
      ]);
  }
}
