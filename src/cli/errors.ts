// Failures the CLI words for the operator, recognised by their code (never
// their message text), following the `cause` chain as connect-node does;
// and usageError, the one shape of a usage mistake: a ConfigError that
// run.ts prints once as `FIELD (from command line): PROBLEM` and exits 2.
import { ConfigError } from "../config/load.ts";

/** A usage mistake on the command line (not tied to one flag's value): exit 2, printed by run.ts. */
export function usageError(field: string, message: string): ConfigError {
  return new ConfigError([{ field, where: "command line", message }]);
}

/** True when `err`, or an error in its cause chain, is "address already in use" (Bun: code EADDRINUSE; Deno: AddrInUse). */
export function isAddressInUse(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    if ((e as { code?: unknown }).code === "EADDRINUSE" || e.name === "AddrInUse") return true;
  }
  return false;
}

/** Runs `start`; an address clash becomes an error naming the command's own flag. */
export async function namingListenFlag<T>(flag: string, address: string, start: () => Promise<T>): Promise<T> {
  try {
    return await start();
  } catch (err) {
    if (!isAddressInUse(err)) throw err;
    throw new Error(`cannot listen on ${flag} ${address}: the address is in use (another boundary-relay running? choose another with ${flag})`, { cause: err });
  }
}
