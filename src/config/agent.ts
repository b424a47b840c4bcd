// The agent role's options: one table gives flags, environment names,
// file keys, defaults, validation and help (shared/DESIGN.md "Configuration").
import { kinds } from "./kinds.ts";
import { type ConfigOf, type OptionSpec, type OptionTable, optionList } from "./load.ts";
import { defaultSocketPath, stateDir } from "./paths.ts";
import { join } from "node:path";

export const AGENT_OUTPUTS = ["auto", "coderd", "stdout", "discard"] as const;
export const FSYNC_POLICIES = ["always", "interval", "never"] as const;
export const PROCESS_LOG_MODES = ["off", "on", "optional"] as const;

/** The role's option table; AgentConfig is derived from it. */
export function agentOptionTable(env: Record<string, string | undefined>) {
  return {
    socket: { schema: kinds.string().min(1), default: defaultSocketPath(env), env: ["CODER_AGENT_BOUNDARY_LOG_PROXY_SOCKET_PATH"], help: "Unix socket boundary writes audit records to" },
    socket_mode: { schema: kinds.fileMode(), default: "0600", help: "file mode of the socket, octal as chmod reads it (0660, 660 and unquoted 0660 in a YAML file are the same)" },
    max_connections: { schema: kinds.int(1, 1_000_000), default: 1024, help: "boundary connections open at once, at most; one more is closed at once and counted (connections_rejected_total{reason=\"too_many\"})" },
    socket_idle_timeout: { schema: kinds.duration(), default: "60s", help: "close a connection that holds part of a frame and sends nothing for this long, freeing its buffer (counted as idle_timeout); 0 = never" },
    http_listen: { schema: kinds.listen(), default: "127.0.0.1:8478", help: "address of /healthz, /readyz and /metrics" },
    output: { schema: kinds.enumOf(AGENT_OUTPUTS), default: "auto", help: "where records go: coderd, stdout (JSON lines), discard, or auto (coderd when --coderd-url is set, else stdout)" },
    coderd_url: { schema: kinds.urls(), default: "", env: ["CODER_AGENT_URL"], help: "base URL of boundary-relay coderd; several replicas comma-separated (a,b): the agent fails over between them" },
    agent_token: { schema: kinds.string(), default: "", env: ["CODER_AGENT_TOKEN"], secret: true, help: "agent token sent to coderd as a bearer token" },
    agent_token_file: { schema: kinds.string(), default: "", help: "file holding the agent token (instead of --agent-token)" },
    ca_file: { schema: kinds.string(), default: "", help: "PEM file of CA certificates to trust for an https coderd" },
    spool_dir: { schema: kinds.string(), default: join(stateDir(env), "spool"), help: "directory of the durable spool that --output coderd appends every record to before accepting it" },
    spool_max_bytes: { schema: kinds.bytes(), default: "1GiB", help: "disk budget of the spool (at least 64KiB); records beyond it are dropped and counted as spool_full" },
    spool_segment_bytes: { schema: kinds.bytes(), default: "16MiB", help: "size at which the spool starts a new segment file (at most a quarter of --spool-max-bytes)" },
    spool_fsync: { schema: kinds.enumOf(FSYNC_POLICIES), default: "interval", help: "when the spool fsyncs: always (each write; safest, slowest), interval (at most --spool-fsync-interval of records lost on power loss), never (the OS decides)" },
    spool_fsync_interval: { schema: kinds.duration(), default: "5ms", help: "fsync period for --spool-fsync interval" },
    queue_max_records: { schema: kinds.int(1, 100_000_000), default: 100_000, help: "in-memory queue bound, in records" },
    queue_max_bytes: { schema: kinds.bytes(), default: "64MiB", help: "in-memory queue bound, in bytes" },
    batch_max_records: { schema: kinds.int(1, 1000), default: 1000, help: "records per request to coderd (coderd refuses more than 1000)" },
    batch_max_bytes: { schema: kinds.bytes(), default: "4MiB", help: "encoded bytes per request to coderd" },
    batch_delay: { schema: kinds.duration(), default: "20ms", help: "longest wait to fill a request before sending it (a full request goes at once)" },
    max_in_flight: { schema: kinds.int(1, 64), default: 8, help: "requests to coderd in flight at once" },
    retry_initial: { schema: kinds.duration(), default: "250ms", help: "first retry delay after a failed request" },
    retry_max: { schema: kinds.duration(), default: "30s", help: "cap of the exponential retry delay" },
    process_log: { schema: kinds.enumOf(PROCESS_LOG_MODES), default: "off", help: "record every exec in the workspace from the kernel's proc connector (Linux; needs CAP_NET_ADMIN, CAP_SYS_PTRACE and the host's PID namespace): on (exit 2 when unavailable), optional (run without it when unavailable), off" },
    process_log_cgroup: { schema: kinds.string().refine((s) => s === "" || s.startsWith("/"), { message: "must be a cgroup path starting with / (as /proc/<pid>/cgroup shows it)" }), default: "", help: "with --process-log, record only processes in this cgroup or below (a path as /proc/<pid>/cgroup shows it, e.g. /kubepods/pod<uid>); default: the agent's own PID namespace" },
    shutdown_timeout: { schema: kinds.duration(), default: "10s", help: "on SIGTERM/SIGINT, how long to try delivering what is pending before leaving it in the spool" },
  } satisfies OptionTable;
}

export function agentOptions(env: Record<string, string | undefined>): OptionSpec[] {
  return optionList(agentOptionTable(env));
}

export type AgentConfig = ConfigOf<ReturnType<typeof agentOptionTable>>;

