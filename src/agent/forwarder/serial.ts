// Runs an async task one at a time. A call while it runs asks for one more
// run after it (however many calls came in), so no wake-up is lost and the
// task never overlaps itself. The task handles its own errors.
export function serial(task: () => Promise<void>): () => void {
  let running = false;
  let again = false;
  const run = async (): Promise<void> => {
    running = true;
    try {
      do {
        again = false;
        await task();
      } while (again);
    } finally {
      running = false;
    }
  };
  return () => {
    if (running) again = true;
    else void run();
  };
}
