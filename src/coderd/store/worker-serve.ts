// The worker side of worker-calls.ts: handles each message in arrival order
// (one at a time, even when a handler is async) and posts one reply with
// its id, the handler's value or the failure as a StoreError's reason and
// message.
import { storeErrorOf } from "./sqlite-errors.ts";
import type { WorkerReply } from "./worker-calls.ts";

declare function postMessage(message: WorkerReply): void;
declare let onmessage: ((e: MessageEvent) => void) | null;

/** What a failed message was doing, for its error; `opening`: a file that cannot be opened is a bad location. */
export type Doing = { doing: string; opening?: boolean };

export function serveCalls<M extends { id: number }>(handle: (message: M) => unknown, doingOf: (message: M) => Doing): void {
  let turn: Promise<void> = Promise.resolve();
  onmessage = (e: MessageEvent<M>) => {
    const message = e.data;
    turn = turn.then(async () => {
      try {
        postMessage({ id: message.id, ok: true, value: await handle(message) });
      } catch (err) {
        const { doing, opening } = doingOf(message);
        const e = storeErrorOf(err, doing, opening);
        postMessage({ id: message.id, ok: false, failure: e.failure, message: e.message });
      }
    });
  };
}
