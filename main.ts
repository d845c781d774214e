// Copyright 2026 the exec-server authors. MIT license.
/**
 * Entry point: `deno run … main.ts serve --listen ws://127.0.0.1:0`.
 *
 * @module
 */
import { main } from "./lib/cli/main.ts";

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
