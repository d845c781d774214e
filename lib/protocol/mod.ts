// Copyright 2026 the exec-server authors. MIT license.
/**
 * The wire: zod schemas for every message (the single source of the wire
 * types), the one method table the server dispatches from and the client
 * types its calls with, JSON-RPC error codes, and binary output frames.
 * Imports nothing outside this folder but zod.
 *
 * @example Validating params the way the server does
 * ```ts
 * import { METHODS } from "./mod.ts";
 * import assert from "node:assert/strict";
 * const params = METHODS["process/read"].params.parse({ processId: "p1" });
 * assert.equal(params.processId, "p1");
 * ```
 *
 * @module
 */
export * from "./errors.ts";
export * from "./process.ts";
export * from "./fs.ts";
export * from "./environment.ts";
export * from "./sandbox.ts";
export * from "./host.ts";
export * from "./methods.ts";
export * from "./binary_frame.ts";
