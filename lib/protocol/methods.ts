// Copyright 2026 the exec-server authors. MIT license.
/**
 * The single method table of the whole API: every request method with its
 * params and result schemas. The server dispatches from it and the client
 * types its calls with it.
 *
 * @module
 */
import type { z } from "npm:zod@^4.1.0";
import { ENVIRONMENT_METHODS } from "./environment.ts";
import { FS_METHODS } from "./fs.ts";
import { HOST_METHODS } from "./host.ts";
import { InitializeParamsSchema, InitializeResultSchema, PROCESS_METHODS } from "./process.ts";
import type { WireMethods } from "./wire.ts";

/** Every request method: `{params, result}` schemas. */
export const METHODS = {
  initialize: {
    params: InitializeParamsSchema,
    result: InitializeResultSchema,
  },
  ...PROCESS_METHODS,
  ...FS_METHODS,
  ...ENVIRONMENT_METHODS,
  ...HOST_METHODS,
} as const;

/**
 * A request method name. The public types below come from wire.ts, the plain
 * TypeScript that scripts/wire_types.ts generates from these schemas (run
 * `deno task wire` after changing one; a test checks it is current).
 */
export type MethodName = keyof WireMethods;

/** Params a caller passes for method `M` (defaults not yet applied). */
export type ParamsOf<M extends MethodName> = WireMethods[M]["params"];

/** Params a handler receives for method `M` (validated). */
export type ParsedParamsOf<M extends MethodName> = z.output<
  (typeof METHODS)[M]["params"]
>;

/** Result of method `M`. */
export type ResultOf<M extends MethodName> = WireMethods[M]["result"];

/** Whether `name` is a known method. */
export function isMethodName(name: string): name is MethodName {
  return Object.hasOwn(METHODS, name);
}
