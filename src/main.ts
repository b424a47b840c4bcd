#!/usr/bin/env bun
// boundary-relay: one binary, one command per role (shared/DESIGN.md
// "Commands"). Exit codes: 0 fine, 1 runtime failure, 2 bad usage or
// configuration.
import { runCli } from "./cli/run.ts";

process.exitCode = await runCli(process.argv.slice(2), process.env);
