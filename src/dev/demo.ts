// The `dev --demo` session: what `send --demo` writes, sent into the
// agent's socket once it is listening, so a newcomer without boundary sees
// records flow through to coderd.
import { BoundaryClient } from "../client/client.ts";
import { DEMO_PROCESS_NAME, demoRecords } from "../client/records.ts";

export async function runDemoSession(socketPath: string, log: (line: string) => void): Promise<void> {
  const client = new BoundaryClient({ socketPath, confinedProcessName: DEMO_PROCESS_NAME, flushInterval: 500 });
  const records = demoRecords();
  try {
    for (const r of records) await client.send(r);
    const unsent = await client.close();
    log(`boundary-relay dev: demo session ${client.sessionId} sent ${records.length - unsent} records`);
  } catch (err) {
    log(`boundary-relay dev: demo failed: ${(err as Error).message}`);
  }
}
