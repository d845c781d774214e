// Copyright 2026 the exec-server authors. MIT license.
/**
 * Path arguments on the wire: absolute native paths or `file://` URIs.
 *
 * @module
 */
import { fileURLToPath } from "node:url";
import { invalidParams } from "../protocol/errors.ts";

/**
 * Converts a wire path (absolute POSIX path or `file://` URI) to a native
 * absolute path. Throws a -32602 error naming `field` otherwise.
 *
 * @example
 * ```ts
 * import { toNativePath } from "./paths.ts";
 * import assert from "node:assert/strict";
 * assert.equal(toNativePath("file:///tmp/a%20b", "cwd"), "/tmp/a b");
 * ```
 */
export function toNativePath(value: string, field = "path"): string {
  let path = value;
  if (/^file:/i.test(value)) {
    try {
      path = fileURLToPath(value);
    } catch {
      throw invalidParams(`${field} is not a valid file URI: ${value}`);
    }
  }
  if (path.includes("\0")) throw invalidParams(`${field} must not contain NUL bytes: ${value}`);
  if (!path.startsWith("/")) {
    throw invalidParams(`${field} must be absolute (a path or a file:// URI): ${value}`);
  }
  return path;
}
