// The CLI's leaf: the environment type, exit codes and the --help check that
// every command shares. It imports nothing from cli/, so run.ts can load the
// commands and the commands can use these without an import cycle
// (scripts/check-import-cycles.ts keeps it so in CI).

export type Env = Record<string, string | undefined>;

/** Fine. */
export const EXIT_OK = 0;
/** A failure at run time (a socket that is gone, a store that broke). */
export const EXIT_FAILURE = 1;
/** Bad usage or configuration: nothing was started. */
export const EXIT_USAGE = 2;

/** True when argv asks for help; prints `text` then. */
export function wantsHelp(argv: string[], text: string): boolean {
  if (!argv.includes("--help") && !argv.includes("-h")) return false;
  process.stdout.write(text);
  return true;
}
