// Copyright 2026 the exec-server authors. MIT license.
/**
 * Files for `fs/*` calls: the service that runs each method; race-free
 * resolution inside the `--fs-root` directories (each path opened one
 * component at a time relative to its parent's descriptor, through FFI); the
 * policy seam request sandboxes plug into; file handles; watches; and wire
 * paths (native or `file://`).
 *
 * @example Resolving a path inside a root
 * ```ts
 * import { FsRoots } from "./mod.ts";
 * import assert from "node:assert/strict";
 * const dir = await Deno.realPath(await Deno.makeTempDir());
 * using roots = FsRoots.open([dir]);
 * assert.deepEqual(roots.paths, [dir]);
 * assert.throws(() => roots.resolve("/etc/passwd"), /is not permitted/);
 * await Deno.remove(dir);
 * ```
 *
 * @module
 */
export * from "./service.ts";
export * from "./confine.ts";
export * from "./roots.ts";
export * from "./watch.ts";
export * from "./paths.ts";
