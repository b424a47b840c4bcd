// What process logging needs from the agent's own privileges, checked
// before the kernel is asked, so the error names every missing piece at
// once instead of the first failing syscall.
import { readFileSync } from "node:fs";
import { ProcConnectorError } from "../runtime/proc-connector.ts";

/** Capabilities process logging needs, each with why (linux/capability.h numbers). */
export const REQUIRED_CAPABILITIES = [
  { name: "CAP_NET_ADMIN", bit: 12, why: "to subscribe to the proc connector (before Linux 6.6) and to enlarge its receive buffer past net.core.rmem_max, without which bursts overrun it" },
  { name: "CAP_SYS_PTRACE", bit: 19, why: "to read /proc/<pid>/exe of processes of other users" },
] as const;

/** The effective capability set of this process, from /proc/self/status. */
export function effectiveCapabilities(statusText = readFileSync("/proc/self/status", "utf8")): bigint {
  const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(statusText);
  return m ? BigInt(`0x${m[1]}`) : 0n;
}

/** Throws ProcConnectorError("permission") naming each missing capability and why it is needed. */
export function checkPrivileges(capEff = effectiveCapabilities()): void {
  const missing = REQUIRED_CAPABILITIES.filter((c) => (capEff & (1n << BigInt(c.bit))) === 0n);
  if (missing.length === 0) return;
  throw new ProcConnectorError(
    "permission",
    `process logging needs ${missing.map((c) => c.name).join(" and ")} (effective capabilities here: 0x${capEff.toString(16)}): ` +
      `${missing.map((c) => `${c.name} ${c.why}`).join("; ")}. Run the agent as root, or grant them (setcap cap_net_admin,cap_sys_ptrace+ep, ` +
      "or securityContext.capabilities.add: [NET_ADMIN, SYS_PTRACE])",
  );
}
