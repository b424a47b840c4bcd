import { freshDatabase, pgCluster } from "./helpers/postgres.ts";
import { runCli } from "./helpers/cli.ts";
const url = await freshDatabase();
const c = pgCluster();
for (const db of [c.url("nosuchdb"), c.url(url.split("/").pop()!, "wrongpass")]) {
  const r = await runCli(["coderd", "--db", db, "--http-listen", "127.0.0.1:0"]);
  console.log(r.code, r.stderr);
}
const r = await runCli(["config", "check", "--role", "coderd", "--db", url]);
console.log(r.code, r.stdout, r.stderr);
