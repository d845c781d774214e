// Copyright 2026 the exec-server authors. MIT license.
/**
 * POSIX path strings: joining a name onto a directory and taking a path's
 * parent, and whether one path lies within another, as the fs service,
 * confinement, watches and program lookup need.
 * Plain string work: nothing is normalized or resolved.
 *
 * @module
 */

/**
 * `dir` and `name` with one `/` between them (none added after a trailing one).
 *
 * @example
 * ```ts
 * import { joinPath } from "./path.ts";
 * import assert from "node:assert/strict";
 * assert.equal(joinPath("/", "etc"), "/etc");
 * assert.equal(joinPath("/usr/bin", "sh"), "/usr/bin/sh");
 * assert.equal(joinPath("/usr/bin/", "sh"), "/usr/bin/sh");
 * ```
 */
export function joinPath(dir: string, name: string): string {
  return dir.endsWith("/") ? dir + name : `${dir}/${name}`;
}

/**
 * The directory holding an absolute `path`; the root is its own parent.
 *
 * @example
 * ```ts
 * import { parentOf } from "./path.ts";
 * import assert from "node:assert/strict";
 * assert.equal(parentOf("/a/b"), "/a");
 * assert.equal(parentOf("/a"), "/");
 * assert.equal(parentOf("/"), "/");
 * ```
 */
export function parentOf(path: string): string {
  const i = path.lastIndexOf("/");
  return i <= 0 ? "/" : path.slice(0, i);
}

/**
 * Whether the absolute `path` is `root` or lies below it. Plain string
 * comparison: both must already be canonical (no `.`, `..`, repeated or
 * trailing `/`).
 *
 * @example
 * ```ts
 * import { isWithin } from "./path.ts";
 * import assert from "node:assert/strict";
 * assert.equal(isWithin("/a/b", "/a"), true);
 * assert.equal(isWithin("/a", "/a"), true);
 * assert.equal(isWithin("/ab", "/a"), false);
 * assert.equal(isWithin("/anything", "/"), true);
 * ```
 */
export function isWithin(path: string, root: string): boolean {
  if (root === "/") return true;
  return path === root || path.startsWith(`${root}/`);
}
