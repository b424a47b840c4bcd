// Failures the CLI words for the operator, recognised by their code (never
// their message text), following the `cause` chain as connect-node does.

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
