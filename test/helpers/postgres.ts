// A throw-away PostgreSQL cluster for the test run: initdb in a temp dir,
// started with pg_ctl on a free loopback port (and a private unix socket
// directory), password authentication (scram) for a superuser, torn down
// when the test process exits. As root it runs as `nobody` (PostgreSQL
// refuses to run as root). One cluster per test process, started on first
// use; each caller gets its own fresh database from `freshDatabase()`.
// A watchdog stops and removes the cluster once the test process is gone.
//
// Finding PostgreSQL: initdb on PATH, /usr/local/bin, or
// /usr/lib/postgresql/*/bin (Debian's packages; .ci/run installs them).
// A test run without PostgreSQL fails, unless BOUNDARY_RELAY_NO_POSTGRES=1
// says so explicitly: then `postgresAvailable()` is false and the
// PostgreSQL tests are skipped.
import { spawn, spawnSync } from "node:child_process";
import { chmodSync, chownSync, existsSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import postgres from "postgres";
import { tempDir } from "./temp.ts";

export const PG_USER = "relay";
export const PG_PASSWORD = "s3cret-pg-password";

/** Timeout of a test that may be the first to use the cluster (initdb and start take seconds on a loaded machine). */
export const PG_TEST_TIMEOUT_MS = 60_000;

/** True unless BOUNDARY_RELAY_NO_POSTGRES=1 (the only way PostgreSQL tests are skipped). */
export function postgresAvailable(): boolean {
  return process.env.BOUNDARY_RELAY_NO_POSTGRES !== "1";
}

export interface PgCluster {
  port: number;
  socketDir: string;
  dataDir: string;
  /** postgres://relay:PASSWORD@127.0.0.1:PORT/NAME */
  url(database: string, password?: string): string;
  stop(): void;
  start(): void;
  /** Stops immediately (as a crash would) and starts again. */
  restart(): void;
}

let cluster: PgCluster | null = null;
let databases = 0;

/** The directory holding initdb and pg_ctl. */
export function postgresBinDir(): string {
  const candidates = [
    ...(process.env.PATH ?? "").split(":").filter(Boolean),
    "/usr/local/bin",
    ...(() => {
      try {
        return readdirSync("/usr/lib/postgresql").sort().reverse().map((v) => `/usr/lib/postgresql/${v}/bin`);
      } catch {
        return [];
      }
    })(),
  ];
  for (const dir of candidates) {
    if (existsSync(join(dir, "initdb")) && existsSync(join(dir, "pg_ctl"))) return dir;
  }
  throw new Error(
    "PostgreSQL (initdb, pg_ctl) not found on PATH, /usr/local/bin or /usr/lib/postgresql/*/bin: " +
      "install Debian's postgresql package (.ci/run does), or set BOUNDARY_RELAY_NO_POSTGRES=1 to skip the PostgreSQL tests",
  );
}

function freePortSync(): number {
  // Any port the kernel hands out for a moment; pg_ctl fails loudly if it was taken meanwhile.
  const r = spawnSync(process.execPath, ["-e", "const s=require('net').createServer();s.listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"], { encoding: "utf8" });
  const port = Number(r.stdout.trim());
  if (!port) throw new Error(`could not find a free port: ${r.stderr}`);
  return port;
}

const NOBODY = 65534;
const asRoot = () => process.getuid?.() === 0;

/** Runs a PostgreSQL tool, as nobody when we are root; throws with its output on failure. */
function pgTool(bin: string, args: string[]): void {
  const cmd = asRoot() ? "setpriv" : bin;
  const argv = asRoot() ? [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, "--clear-groups", bin, ...args] : args;
  const r = spawnSync(cmd, argv, { encoding: "utf8", env: { ...process.env, LC_ALL: "C" } });
  if (r.status !== 0) throw new Error(`${bin} ${args.join(" ")} failed (${r.status}):\n${r.stdout}${r.stderr}`);
}

export interface PgClusterOptions {
  /** fsync on (as in production); off by default for the tests' speed (a crash of the machine is not under test). */
  durable?: boolean;
}

/** A new cluster of its own (the bench uses one with durable: true); stopped and removed at exit. */
export function startPgCluster(opts: PgClusterOptions = {}): PgCluster {
  const bin = postgresBinDir();
  const root = tempDir("br-pg-").dir; // removed by the watchdog below
  const dataDir = join(root, "data");
  const socketDir = join(root, "sock");
  const pwfile = join(root, "pw");
  const logFile = join(root, "log");
  spawnSync("mkdir", ["-p", dataDir, socketDir]);
  writeFileSync(pwfile, `${PG_PASSWORD}\n`);
  writeFileSync(logFile, "");
  if (asRoot()) for (const p of [root, dataDir, socketDir, pwfile, logFile]) chownSync(p, NOBODY, NOBODY);
  chmodSync(dataDir, 0o700);
  pgTool(join(bin, "initdb"), ["-D", dataDir, "-U", PG_USER, `--pwfile=${pwfile}`, "--auth=scram-sha-256", "-E", "UTF8", "--no-sync"]);
  const port = freePortSync();
  const options = `-p ${port} -k ${socketDir} -c listen_addresses=127.0.0.1 ${opts.durable ? "" : "-c fsync=off -c full_page_writes=off "}-c max_connections=200`;
  const start = () => pgTool(join(bin, "pg_ctl"), ["-D", dataDir, "-l", logFile, "-o", options, "-w", "-t", "60", "start"]);
  const stop = (mode = "fast") => {
    try {
      pgTool(join(bin, "pg_ctl"), ["-D", dataDir, "-m", mode, "-w", "stop"]);
    } catch {
      // Already stopped.
    }
  };
  start();
  const c: PgCluster = {
    port,
    socketDir,
    dataDir,
    url: (database, password = PG_PASSWORD) => `postgres://${PG_USER}:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`,
    stop: () => stop("fast"),
    start,
    restart() {
      stop("immediate");
      start();
    },
  };
  // Torn down when this process ends, however it ends (bun test does not
  // always run "exit" handlers, and a killed runner runs none): a detached
  // watchdog waits for our pid to go, then stops the cluster and removes it.
  const pgCtl = asRoot() ? `setpriv --reuid=${NOBODY} --regid=${NOBODY} --clear-groups ${join(bin, "pg_ctl")}` : join(bin, "pg_ctl");
  const watchdog = spawn("sh", ["-c",
    `while kill -0 ${process.pid} 2>/dev/null; do sleep 1; done; ${pgCtl} -D '${dataDir}' -m immediate -w stop >/dev/null 2>&1; rm -rf '${root}'`,
  ], { detached: true, stdio: "ignore" });
  watchdog.unref();
  return c;
}

/** The test run's cluster, started on first use. */
export function pgCluster(): PgCluster {
  cluster ??= startPgCluster();
  return cluster;
}

/** A new, empty database in the test run's cluster; returns its URL. */
export async function freshDatabase(prefix = "t", c: PgCluster = pgCluster()): Promise<string> {
  const name = `${prefix}_${process.pid}_${++databases}`;
  const admin = postgres(c.url("postgres"), { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  return c.url(name);
}
