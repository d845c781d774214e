// Copyright 2026 the exec-server authors. MIT license.
/**
 * The exec-server version, one constant for the CLI, the ssh installer's
 * cache names and `--version` (a test keeps it equal to deno.json's).
 *
 * @example
 * ```ts
 * import { VERSION } from "./version.ts";
 * import assert from "node:assert/strict";
 * assert.match(VERSION, /^\d+\.\d+\.\d+/);
 * ```
 *
 * @module
 */

/** The version of this exec-server. */
export const VERSION = "0.1.0";
