// Copyright 2026 the exec-server authors. MIT license.
/**
 * Path arguments on the wire: absolute native paths or `file://` URIs.
 *
 * @module
 */
import { invalidParams } from "./errors.ts";

/**
 * Converts a wire path (absolute POSIX path or `file://` URI) to a native
 * absolute path. Throws a -32602 error naming `field` otherwise.
 *
 * @example
 * ```ts
 * import { toNativePath } from "./paths.ts";
 * console.assert(toNativePath("cwd", "file:///tmp/a%20b") === "/tmp/a b");
 * ```
 */
export function toNativePath(field: string, value: string): string {
  if (value.startsWith("file:")) {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      throw invalidParams(`${field} is not a valid file:// URI: ${value}`);
    }
    if (url.host !== "" && url.host !== "localhost") {
      throw invalidParams(
        `${field} must be a local file:// URI (no host): ${value}`,
      );
    }
    const path = decodeURIComponent(url.pathname);
    if (path.includes("\0")) {
      throw invalidParams(`${field} must not contain NUL bytes`);
    }
    return path;
  }
  if (!value.startsWith("/")) {
    throw invalidParams(
      `${field} must be an absolute path or a file:// URI: ${value}`,
    );
  }
  if (value.includes("\0")) {
    throw invalidParams(`${field} must not contain NUL bytes`);
  }
  return value;
}
