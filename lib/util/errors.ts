// Copyright 2026 the exec-server authors. MIT license.
/**
 * The one helper that turns any thrown value into a readable message.
 *
 * @module
 */

/**
 * A readable message for any thrown value: an `Error`'s message, anything
 * else as `String(value)`.
 *
 * @example
 * ```ts
 * import { messageOf } from "./errors.ts";
 * import assert from "node:assert/strict";
 * assert.equal(messageOf(new Error("x")), "x");
 * assert.equal(messageOf(3), "3");
 * ```
 */
export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
