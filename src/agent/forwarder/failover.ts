// Several coderd replicas behind one SendFn (--coderd-url a,b). A send goes
// to the current replica; when that one is away or failing (a failure
// classifySendFailure calls `retry`: refused connection, unavailable,
// timeout…) the same request goes at once to the next, each replica at most
// once per send, and the replica that answered becomes the current one.
// When all fail, the last failure is thrown and the forwarder backs off as
// with one coderd. A refusal (invalid_argument) or a refused token is the
// answer of a live coderd: thrown as it is, no failover. Replicas share one
// database and de-duplicate, so a request sent to two of them is stored once.
import { classifySendFailure } from "../../rpc/index.ts";
import type { SendFn } from "./forwarder.ts";

export function failoverSend<Req>(replicas: SendFn<Req>[]): SendFn<Req> {
  if (replicas.length === 1) return replicas[0]!;
  let current = 0;
  return async (request, signal) => {
    let lastError: unknown;
    for (let tried = 0; tried < replicas.length; tried++) {
      const index = (current + tried) % replicas.length;
      try {
        await replicas[index]!(request, signal);
        current = index;
        return;
      } catch (err) {
        if (classifySendFailure(err, signal).kind !== "retry") throw err;
        lastError = err;
      }
    }
    current = (current + 1) % replicas.length; // start the next attempt elsewhere
    throw lastError;
  };
}
