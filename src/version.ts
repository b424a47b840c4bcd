// Build identity: version from package.json, commit stamped by build.ts
// (falls back to "dev" when run from source).
import pkg from "../package.json" with { type: "json" };

declare const BOUNDARY_RELAY_COMMIT: string | undefined;

export const VERSION: string = pkg.version;
export const COMMIT: string = typeof BOUNDARY_RELAY_COMMIT === "string" ? BOUNDARY_RELAY_COMMIT : "dev";
