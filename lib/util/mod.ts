// Copyright 2026 the exec-server authors. MIT license.
/**
 * Small runtime-neutral helpers shared by every part: bytes and base64,
 * timing, a counting semaphore, error messages, logging, line splitting, path strings, SHA-256. Nothing here touches `Deno.*` or
 * imports another part of `lib/`.
 *
 * @example
 * ```ts
 * import { concatBytes, encodeBase64 } from "./mod.ts";
 * import assert from "node:assert/strict";
 * assert.equal(encodeBase64(concatBytes([new Uint8Array([104]), new Uint8Array([105])])), "aGk=");
 * ```
 *
 * @module
 */
export * from "./bytes.ts";
export * from "./async.ts";
export * from "./clock.ts";
export * from "./errors.ts";
export * from "./logger.ts";
export * from "./lines.ts";
export * from "./path.ts";
export * from "./sha256.ts";
export * from "./slots.ts";
export * from "./version.ts";
