// serial(task): never two runs at once, and no call is lost.
import { expect, test } from "bun:test";
import { serial } from "../../../src/agent/forwarder/serial.ts";

/** A task whose runs the test ends one by one. */
function gatedTask() {
  const gates: Array<() => void> = [];
  let running = 0;
  let maxRunning = 0;
  let runs = 0;
  const task = async () => {
    runs++;
    running++;
    maxRunning = Math.max(maxRunning, running);
    await new Promise<void>((resolve) => gates.push(resolve));
    running--;
  };
  const finishOne = async () => {
    while (gates.length === 0) await Bun.sleep(0);
    gates.shift()!();
    await Bun.sleep(0);
  };
  return { task, finishOne, stats: () => ({ runs, maxRunning, waiting: gates.length }) };
}

test("calls during a run make exactly one more run, never an overlapping one", async () => {
  const g = gatedTask();
  const kick = serial(g.task);
  kick();
  kick();
  kick();
  kick();
  expect(g.stats()).toEqual({ runs: 1, maxRunning: 1, waiting: 1 });
  await g.finishOne();
  expect(g.stats()).toEqual({ runs: 2, maxRunning: 1, waiting: 1 });
  await g.finishOne();
  expect(g.stats()).toEqual({ runs: 2, maxRunning: 1, waiting: 0 });
  kick();
  expect(g.stats().runs).toBe(3);
  await g.finishOne();
});

test("a call during the last run is not lost", async () => {
  const g = gatedTask();
  const kick = serial(g.task);
  kick();
  await g.finishOne(); // first run over, none asked for
  kick();
  kick(); // asks for one more while the second runs
  await g.finishOne();
  await g.finishOne();
  expect(g.stats()).toEqual({ runs: 3, maxRunning: 1, waiting: 0 });
});
