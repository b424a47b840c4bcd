// `boundary-relay version`: version, git commit and runtime.
import { runtimeVersion } from "../runtime/adapter.ts";
import { COMMIT, VERSION } from "../version.ts";
import { EXIT_OK, wantsHelp } from "./exit.ts";

export async function main(argv: string[]): Promise<number> {
  if (wantsHelp(argv, "usage: boundary-relay version\n\nPrints version, git commit and runtime.\n")) return EXIT_OK;
  process.stdout.write(`boundary-relay ${VERSION} (commit ${COMMIT}, ${runtimeVersion()}, ${process.platform}/${process.arch})\n`);
  return EXIT_OK;
}
