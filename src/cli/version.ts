// `boundary-relay version`: version, git commit and runtime.
import { runtimeVersion } from "../runtime/adapter.ts";
import { COMMIT, VERSION } from "../version.ts";
import { usageError } from "./errors.ts";
import { EXIT_OK, wantsHelp } from "./exit.ts";

export async function main(argv: string[]): Promise<number> {
  if (wantsHelp(argv, "usage: boundary-relay version\n\nPrints version, git commit and runtime.\n")) return EXIT_OK;
  if (argv.length > 0) throw usageError(argv[0]!, argv[0]!.startsWith("-") ? "unknown flag (see --help)" : "unexpected argument");
  process.stdout.write(`boundary-relay ${VERSION} (commit ${COMMIT}, ${runtimeVersion()}, ${process.platform}/${process.arch})\n`);
  return EXIT_OK;
}
