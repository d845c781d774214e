// Copyright 2026 the exec-server authors. MIT license.
/**
 * Files for `fs/*` calls: the service that runs each method, confinement to
 * `--fs-root` directories resolved component by component, watches, and
 * wire paths (native or `file://`).
 *
 * @example Confining a path
 * ```ts
 * import { PathConfinement } from "./mod.ts";
 * import assert from "node:assert/strict";
 * const confine = new PathConfinement(["/tmp"]);
 * assert.ok(confine.roots.length === 1);
 * ```
 *
 * @module
 */
export * from "./service.ts";
export * from "./confine.ts";
export * from "./watch.ts";
export * from "./paths.ts";
