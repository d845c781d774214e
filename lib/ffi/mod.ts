// Copyright 2026 the exec-server authors. MIT license.
/**
 * Linux's C library through Deno's FFI, opened once for the whole server:
 * `lib/fs` (descriptor-relative file calls) and `lib/process` (terminals,
 * pipes, spawning, containment) build their calls on it.
 *
 * @example
 * ```ts
 * import { C, errno, libc, strerror } from "./mod.ts";
 * import assert from "node:assert/strict";
 * const fd = libc().openat(C.AT_FDCWD, new TextEncoder().encode("/no/such\0"), C.O_RDONLY, 0);
 * assert.equal(fd, -1);
 * assert.equal(errno(), C.ENOENT);
 * assert.equal(strerror(C.ENOENT), "No such file or directory");
 * ```
 *
 * @module
 */
export * from "./libc.ts";
