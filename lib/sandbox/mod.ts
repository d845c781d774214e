// Copyright 2026 the exec-server authors. MIT license.
/**
 * Sandboxed processes and files: codex permission profiles enforced with
 * bubblewrap. The policy compiler ({@linkcode compileProfile}), the bwrap
 * planner ({@linkcode planBwrap}), the seccomp builder and the
 * `sandboxDenied` rule are pure; {@linkcode SandboxService} is the edge the
 * server asks (it finds and probes bwrap, and owns the host files a sandbox
 * needs).
 *
 * @example Compiling a profile into path rules
 * ```ts
 * import { accessAt, compileProfile } from "./mod.ts";
 * import assert from "node:assert/strict";
 * const facts = {
 *   resolve: (p: string) => p,
 *   kind: (p: string) => p === "/w" ? "dir" as const : "missing" as const,
 *   gitdir: () => null,
 * };
 * const enforcement = compileProfile({
 *   permissions: {
 *     type: "managed",
 *     network: "restricted",
 *     file_system: {
 *       type: "restricted",
 *       entries: [
 *         { path: { type: "special", value: { kind: "root" } }, access: "read" },
 *         { path: { type: "special", value: { kind: "project_roots" } }, access: "write" },
 *       ],
 *     },
 *   },
 *   workspaceRoots: ["file:///w"],
 *   windowsSandboxLevel: "disabled",
 * }, { cwd: "/w", env: {} }, facts);
 * assert.equal(enforcement.kind, "bwrap");
 * if (enforcement.kind === "bwrap") {
 *   assert.equal(accessAt(enforcement.policy, "/w/src"), "write");
 *   assert.equal(accessAt(enforcement.policy, "/w/.git/config"), "read");
 *   assert.equal(accessAt(enforcement.policy, "/usr/local"), "read");
 * }
 * ```
 *
 * @module
 */
export * from "./policy.ts";
export { compileProfile, intersect } from "./compile.ts";
export { GLOB_MAX_LENGTH, globBase, GlobMatcher } from "./glob.ts";
export { type BwrapHost, type BwrapPlan, type Placeholder, planBwrap } from "./bwrap_args.ts";
export { seccompProgram } from "./seccomp.ts";
export { DENIAL_KEYWORDS, DenialScanner } from "./denied.ts";
export { type FsAccess, FsPolicy } from "./fs_policy.ts";
export {
  type PreparedStart,
  SandboxService,
  type SandboxServiceOptions,
  type StartRequest,
} from "./service.ts";
