// Headless Chromium for the console's browser tests and screenshots:
// Debian's /usr/bin/chromium (or CHROMIUM_PATH) driven by playwright-core,
// each launch with a fresh profile, no network services, no sandbox (CI
// runs as root). Also: a compiled coderd with records to look at.
import { join } from "node:path";
import { type Browser, type BrowserContext, chromium } from "playwright-core";
import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { type ProcessExec, ProcessExecSchema } from "../../src/gen/boundaryrelay/v1/process_pb.ts";
import { createIngestClient } from "../../src/rpc/index.ts";
import { ADMIN_TOKEN, AGENT_TOKEN, coderdPaths, type Proc, startCoderd } from "../e2e/harness.ts";
import { batch, log } from "../coderd/helpers.ts";
import { tempDir } from "../helpers/temp.ts";

export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

export interface Chrome {
  browser: Browser;
  context: BrowserContext;
  close(): Promise<void>;
}

export async function launchChromium(opts: { width?: number; height?: number } = {}): Promise<Chrome> {
  const profile = tempDir("console-chromium-");
  const context = await chromium.launchPersistentContext(profile.dir, {
    executablePath: CHROMIUM,
    headless: true,
    acceptDownloads: true,
    viewport: { width: opts.width ?? 1440, height: opts.height ?? 900 },
    timezoneId: "Europe/Berlin",
    locale: "en-GB",
    args: [
      "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
      "--disable-sync", "--no-first-run",
    ],
  });
  return {
    browser: context.browser()!,
    context,
    async close() {
      await context.close();
      profile.cleanup();
    },
  };
}

export interface ConsoleServer {
  url: string;
  coderd: Proc;
  ingest: ReturnType<typeof createIngestClient>;
  stop(): Promise<void>;
}

/** The compiled binary as coderd in a temp dir, with an ingest client holding the agent token. */
export async function startConsoleServer(): Promise<ConsoleServer> {
  const { dir, cleanup } = tempDir("console-browser-");
  const coderd = await startCoderd(coderdPaths(dir));
  const url = `http://127.0.0.1:${coderd.port}`;
  return {
    url,
    coderd,
    ingest: createIngestClient({ baseUrl: url, token: AGENT_TOKEN, binary: true }),
    async stop() {
      await coderd.stop();
      cleanup();
    },
  };
}

export { ADMIN_TOKEN, batch, log };

/** When this module loaded: exec records default to it less their pid in ms, so a lower pid is always newer. */
const LOADED_AT_MS = Date.now();

/**
 * An exec record as the agent sends it (`ms`: when it ran). Not Date.now()
 * per record: a clock tick between two calls could give a lower pid the
 * same time as a higher one, and the list's order (newest first) with it.
 */
export function execRecord(pid: number, argv: string[], ms = LOADED_AT_MS - pid): ProcessExec {
  return create(ProcessExecSchema, {
    time: timestampFromMs(ms), monotonicNs: BigInt(pid) * 1000n, pid, ppid: 1, uid: 1000, gid: 1000,
    filename: `/usr/bin/${argv[0]}`, argv, comm: argv[0], cmdline: argv.join(" "),
  });
}
