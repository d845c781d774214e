// Copyright 2026 the exec-server authors. MIT license.
/**
 * The `exec-server` command line: `serve`, `exec`, `call` and
 * `mcp-bridge`. {@linkcode main} takes the arguments and resolves to the exit
 * code.
 *
 * @example
 * ```ts ignore
 * import { main } from "./mod.ts";
 * Deno.exit(await main(Deno.args));
 * ```
 *
 * @module
 */
export { main } from "./main.ts";
export { UsageError } from "./flags.ts";
