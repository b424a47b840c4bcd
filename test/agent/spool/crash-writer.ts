// Child process for the crash test: appends N entries with fsync=always,
// says so on stdout, then kills itself with SIGKILL (no close, no flush).
import { openSpool, encodeRequest, makeRequest } from "./helpers.ts";

const [dir, count] = [process.argv[2]!, Number(process.argv[3])];
const spool = await openSpool(dir, { fsync: "always", segmentBytes: 4096 });
for (let i = 0; i < count; i++) await spool.append(encodeRequest(makeRequest("crash", i, 1)), 1);
process.stdout.write(`appended ${count}\n`);
process.kill(process.pid, "SIGKILL");
