// `boundary-relay coderd`: not built yet.
import { EXIT_FAILURE } from "./run.ts";

export async function main(): Promise<number> {
  process.stderr.write("boundary-relay coderd: not implemented yet\n");
  return EXIT_FAILURE;
}
