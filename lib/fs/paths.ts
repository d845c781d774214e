// Copyright 2026 the exec-server authors. MIT license.
/**
 * Path arguments on the wire: absolute native paths or `file://` URIs.
 *
 * @module
 */
import { posix } from "node:path";
import { fileURLToPath } from "node:url";
import { ErrorCode, invalidParams, invalidRequest, RpcError } from "../protocol/errors.ts";

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
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      throw invalidParams(`${field} is not a valid file URI: ${value}`);
    }
    // As codex: another host is not a path here, and an encoded "/" would be
    // part of a name, which no file can have.
    if (url.hostname !== "" && url.hostname !== "localhost") {
      throw invalidRequest(`'${value}' is invalid on 'linux'`);
    }
    if (/%2f/i.test(url.pathname)) {
      throw new RpcError(ErrorCode.NotFound, "No such file or directory (os error 2)");
    }
    try {
      path = fileURLToPath(url);
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

/**
 * The -32600 error for a path that names something other than a regular
 * file where one is needed (`fs/readFile` of a directory, a read handle on
 * one), in codex's words: the native path, lexically normalised as codex
 * shows it (no `.`, `..`, doubled or trailing `/`).
 *
 * @example
 * ```ts
 * import { notAFile } from "./paths.ts";
 * import assert from "node:assert/strict";
 * const err = notAFile("file:///tmp//d/./e/../");
 * assert.equal(err.code, -32600);
 * assert.equal(err.message, "path `/tmp/d` is not a file");
 * ```
 */
export function notAFile(value: string, field = "path"): RpcError {
  return invalidRequest(`path \`${posix.resolve(toNativePath(value, field))}\` is not a file`);
}
