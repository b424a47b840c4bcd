// Failures the CLI words for the operator, recognised by their type or code
// (never their message text), following the `cause` chain as connect-node
// does; and the one shape of a usage mistake: a ConfigError, which run.ts
// prints once as `FIELD (from WHERE): PROBLEM` and turns into exit 2.
// usageError makes one; usageErrorOf turns a start-up failure that is
// really the configuration's fault into one.
import { SocketPathError } from "../agent/socket-file.ts";
import { AgentsFileError } from "../coderd/identities/schema.ts";
import { StoreError } from "../coderd/store/errors.ts";
import { ConfigError, type Sourced } from "../config/load.ts";

/** A usage mistake on the command line (not tied to one flag's value): exit 2, printed by run.ts. */
export function usageError(field: string, message: string): ConfigError {
  return new ConfigError([{ field, where: "command line", message }]);
}

/**
 * A start-up failure that is the user's configuration as a ConfigError
 * naming the field and where its value came from: a --db location that
 * cannot hold a store, an invalid agents file, a --socket path that is not
 * a socket or whose directory cannot be made. Anything else (an address or
 * socket another process holds) is returned as it is (exit 1).
 */
export function usageErrorOf(err: unknown, sources: Record<string, Sourced>): unknown {
  const naming = (field: string, message: string) => new ConfigError([{ field, where: sources[field]?.where ?? `--${field}`, message }]);
  if (err instanceof StoreError && err.failure === "bad_location") return naming("db", err.message);
  if (err instanceof AgentsFileError) return new ConfigError(err.issues);
  if (err instanceof SocketPathError && err.problem !== "in_use") return naming("socket", err.message);
  return err;
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
