// The one place that knows which runtime runs us. Everything else uses web
// and node: APIs only; what differs between Bun and Deno — the HTTP
// server, the Unix socket listener and SQLite — sits behind these functions.
import { chmodSync } from "node:fs";
import { createServer, type Socket } from "node:net";
import { reexecWithRamSize } from "./jsc-heap.ts";

declare const Bun: any;
declare const Deno: any;

export type RuntimeName = "bun" | "deno" | "node";

export const runtimeName: RuntimeName =
  typeof Bun !== "undefined" ? "bun" : typeof Deno !== "undefined" ? "deno" : "node";

export function runtimeVersion(): string {
  if (runtimeName === "bun") return `bun ${Bun.version}`;
  if (runtimeName === "deno") return `deno ${Deno.version.deno}`;
  return `node ${process.versions.node}`;
}

// ---------------------------------------------------------------- HTTP

export interface HttpServerOptions {
  hostname: string;
  port: number;
  fetch: (req: Request) => Response | Promise<Response>;
  tls?: { cert: string; key: string };
}

export interface HttpServer {
  hostname: string;
  port: number;
  /** Stops listening; in-flight requests finish unless `force`. */
  stop(force?: boolean): Promise<void>;
}

export async function serveHttp(opts: HttpServerOptions): Promise<HttpServer> {
  if (runtimeName === "bun") {
    const server = Bun.serve({
      hostname: opts.hostname,
      port: opts.port,
      fetch: opts.fetch,
      tls: opts.tls,
      idleTimeout: 120,
      maxRequestBodySize: 1 << 30,
    });
    return { hostname: server.hostname, port: server.port, stop: async (force) => void (await server.stop(force ?? false)) };
  }
  if (runtimeName === "deno") {
    const server = Deno.serve(
      { hostname: opts.hostname, port: opts.port, cert: opts.tls?.cert, key: opts.tls?.key, onListen() {} },
      opts.fetch,
    );
    return { hostname: server.addr.hostname, port: server.addr.port, stop: async () => void (await server.shutdown()) };
  }
  throw new Error("the HTTP server needs Bun or Deno");
}

// ---------------------------------------------------------------- Unix socket

export interface StreamConnection {
  readonly id: number;
  /** Closes the connection; no more data events follow. */
  close(): void;
  /** Stops reading from the kernel (the peer's writes then block); a chunk already read may still arrive. */
  pause(): void;
  /** Reads again after pause(). */
  resume(): void;
}

export interface UnixSocketHandlers {
  open(conn: StreamConnection): void;
  data(conn: StreamConnection, chunk: Uint8Array): void;
  /** Called once per connection, after the peer or we closed it. */
  close(conn: StreamConnection): void;
}

export interface UnixListener {
  path: string;
  /** Stops accepting; open connections stay until they end or are closed. */
  stop(): Promise<void>;
}

let nextConnectionId = 1;

/** Listens on `path` (which must not exist) and sets the socket's mode. */
export async function listenUnix(path: string, mode: number, handlers: UnixSocketHandlers): Promise<UnixListener> {
  const oldMask = process.umask(0o777 & ~mode);
  try {
    const listener = runtimeName === "bun" ? listenUnixBun(path, handlers) : await listenUnixNode(path, handlers);
    chmodSync(path, mode);
    return listener;
  } finally {
    process.umask(oldMask);
  }
}

function listenUnixBun(path: string, handlers: UnixSocketHandlers): UnixListener {
  const server = Bun.listen({
    unix: path,
    socket: {
      open(s: any) {
        const conn: StreamConnection = { id: nextConnectionId++, close: () => s.end(), pause: () => s.pause(), resume: () => s.resume() };
        s.data = conn;
        handlers.open(conn);
      },
      data(s: any, chunk: Uint8Array) {
        handlers.data(s.data, chunk);
      },
      close(s: any) {
        handlers.close(s.data);
      },
      error() {
        // close follows an error; nothing to add.
      },
    },
  });
  return { path, stop: async () => server.stop(false) };
}

async function listenUnixNode(path: string, handlers: UnixSocketHandlers): Promise<UnixListener> {
  const server = createServer((socket: Socket) => {
    const conn: StreamConnection = {
      id: nextConnectionId++,
      close: () => socket.destroy(),
      pause: () => socket.pause(),
      resume: () => socket.resume(),
    };
    handlers.open(conn);
    socket.on("data", (chunk: Uint8Array) => handlers.data(conn, chunk));
    socket.on("error", () => {});
    socket.on("close", () => handlers.close(conn));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(path, () => resolve());
  });
  return { path, stop: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

// ---------------------------------------------------------------- SQLite

export interface SqliteStatement {
  run(...params: unknown[]): { changes: number };
  all<T = Record<string, unknown>>(...params: unknown[]): T[];
  get<T = Record<string, unknown>>(...params: unknown[]): T | undefined;
}

export interface SqliteDatabase {
  exec(sql: string): void;
  prepare(sql: string): SqliteStatement;
  close(): void;
}

/** Opens (creating) an SQLite file: bun:sqlite on Bun, node:sqlite on Deno. */
export async function openSqlite(path: string): Promise<SqliteDatabase> {
  if (runtimeName === "bun") {
    const { Database } = await import("bun:sqlite" as string);
    const db = new Database(path, { create: true });
    // Finalized at close: with a statement left open, bun:sqlite's close
    // leaves the connection open until the statement is collected, and its
    // last-close checkpoint then locks the file under whoever opened it next.
    // Held weakly (queries prepare statements ad hoc), pruned as they are collected.
    const statements = new Set<WeakRef<{ finalize(): void }>>();
    let prepared = 0;
    return {
      exec: (sql) => db.run(sql),
      prepare: (sql) => {
        const stmt = db.prepare(sql);
        statements.add(new WeakRef(stmt));
        if (++prepared % 256 === 0) for (const ref of statements) if (!ref.deref()) statements.delete(ref);
        return {
          run: (...p) => ({ changes: stmt.run(...p).changes }),
          all: (...p) => stmt.all(...p),
          get: (...p) => stmt.get(...p) ?? undefined,
        };
      },
      close: () => {
        for (const ref of statements) ref.deref()?.finalize();
        statements.clear();
        db.close();
      },
    };
  }
  const { DatabaseSync } = await import("node:sqlite" as string);
  const db = new DatabaseSync(path);
  return {
    exec: (sql) => db.exec(sql),
    prepare: (sql) => {
      const stmt = db.prepare(sql);
      return {
        run: (...p) => ({ changes: Number(stmt.run(...p).changes) }),
        all: (...p) => stmt.all(...p),
        get: (...p) => stmt.get(...p) ?? undefined,
      };
    },
    close: () => db.close(),
  };
}

// ---------------------------------------------------------------- process

export function onSignal(signal: "SIGTERM" | "SIGINT" | "SIGHUP", handler: () => void): void {
  process.on(signal, handler);
}

// ---------------------------------------------------------------- fetch

/** A fetch that also trusts the CA certificates in `caPem` (PEM text). */
export function fetchWithCa(caPem: string): typeof fetch {
  if (runtimeName === "bun") {
    return ((input: RequestInfo | URL, init?: RequestInit) => fetch(input, { ...init, tls: { ca: caPem } } as RequestInit)) as typeof fetch;
  }
  if (runtimeName === "deno") {
    const client = Deno.createHttpClient({ caCerts: [caPem] });
    return ((input: RequestInfo | URL, init?: RequestInit) => fetch(input, { ...init, client } as RequestInit)) as typeof fetch;
  }
  throw new Error("a custom CA file needs Bun or Deno");
}

// ---------------------------------------------------------------- FFI (process logging)

export type { ProcConnector, ProcConnectorOptions } from "./proc-connector.ts";

/**
 * A proc connector socket subscribed to the kernel's process events
 * (Linux; needs CAP_NET_ADMIN and the initial PID namespace). Blocking:
 * call it from a Worker. The FFI module is loaded only here, on first use.
 */
export async function openProcConnector(opts: import("./proc-connector.ts").ProcConnectorOptions) {
  const { openProcConnectorWith, ProcConnectorError } = await import("./proc-connector.ts");
  if (process.platform !== "linux") {
    throw new ProcConnectorError("not_linux", `process events come from the Linux proc connector; this is ${process.platform}`);
  }
  let libc;
  try {
    libc = runtimeName === "bun" ? (await import("./ffi-bun.ts")).openLibc() : (await import("./ffi-deno.ts")).openLibc();
  } catch (err) {
    const hint = runtimeName === "deno" ? " (Deno needs --allow-ffi)" : "";
    throw new ProcConnectorError("no_ffi", `${(err as Error).message}${hint}`, { cause: err });
  }
  return openProcConnectorWith(libc, opts);
}

// ---------------------------------------------------------------- JSC heap

/**
 * Under Bun on Linux, re-executes this process with JavaScriptCore's heap
 * heuristics scaled to `ramBytes` (jsc-heap.ts) unless the operator set
 * them; does not return when it does. Returns null when nothing was needed
 * (Deno, other systems, already set), or why the exec failed.
 */
export async function reexecWithJscRamSize(ramBytes: number): Promise<string | null> {
  if (runtimeName !== "bun" || process.platform !== "linux") return null;
  const { execvePlan } = await import("./ffi-bun.ts"); // bun:ffi, loaded only here
  return reexecWithRamSize(ramBytes, execvePlan);
}
