// Copyright 2026 the exec-server authors. MIT license.
/**
 * Children of the server: the {@linkcode Child} contract the server core
 * sees, and the default {@linkcode Spawner}, which starts piped children and,
 * for `tty: true`, terminals on the shared FFI poll reactor (loaded on first
 * use, so servers that never open a terminal never load FFI).
 *
 * @example Spawning a piped child
 * ```ts
 * import { defaultSpawner } from "./mod.ts";
 * import assert from "node:assert/strict";
 * const out: Uint8Array[] = [];
 * let exited!: (code: number) => void;
 * const done = new Promise<number>((r) => exited = r);
 * const child = await defaultSpawner({
 *   argv: ["echo", "hi"], arg0: null, cwd: "/", env: { PATH: "/usr/bin:/bin" },
 *   tty: false, pipeStdin: false, size: { rows: 24, cols: 80 },
 * }, {
 *   output: (_stream, bytes) => void out.push(bytes.slice()),
 *   end: () => {},
 *   exit: (status) => exited(status.code),
 * });
 * assert.equal(await done, 0);
 * assert.ok(child.pid > 0);
 * ```
 *
 * @module
 */
export * from "./child.ts";
export { defaultSpawner } from "./spawner.ts";
export { setProcessLogger } from "./log.ts";
export { type Containment, containment, type ContainmentMode, enableContainment } from "./tree.ts";
