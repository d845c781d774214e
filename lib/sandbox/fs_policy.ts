// Copyright 2026 the exec-server authors. MIT license.
/**
 * The sandbox check of `fs/*` calls: the same policy a sandboxed process
 * gets, applied in-process to the canonical path the fs layer resolved
 * (symlinks followed, as for `--fs-root`). Pure. The errors carry codex's
 * codes: a write where the profile gives read access fails like EROFS
 * (-32603), a denied path like EACCES (-32600), an invisible one like ENOENT
 * (-32004).
 *
 * @module
 */
import { ErrorCode, RpcError } from "../protocol/errors.ts";
import { accessAt, globAt, ruleAt, type SandboxPolicy } from "./policy.ts";

/** Whether an fs operation reads or changes a path. */
export type FsAccess = "read" | "write";

/**
 * Checks fs paths against a sandbox policy.
 *
 * @example
 * ```ts
 * import { FsPolicy } from "./fs_policy.ts";
 * import assert from "node:assert/strict";
 * const rule = { protected: false, protectNames: true, origin: "project_roots" };
 * const fs = new FsPolicy({
 *   rules: [{ ...rule, path: "/", access: "read", origin: "root" }, { ...rule, path: "/w", access: "write" }],
 *   globs: [],
 *   network: "restricted",
 * });
 * fs.check("/w/a.txt", "write");
 * fs.check("/etc/passwd", "read");
 * assert.throws(() => fs.check("/etc/passwd", "write"), { code: -32603 });
 * ```
 */
export class FsPolicy {
  /** The policy checked against. */
  readonly policy: SandboxPolicy;

  /** Wraps a compiled policy. */
  constructor(policy: SandboxPolicy) {
    this.policy = policy;
  }

  /** Whether `path` (canonical) may be accessed so. */
  allows(path: string, access: FsAccess): boolean {
    const granted = accessAt(this.policy, path);
    return access === "read" ? granted === "read" || granted === "write" : granted === "write";
  }

  /**
   * Throws unless `path` (canonical) may be accessed so.
   *
   * @throws {RpcError} -32603 "Read-only file system (os error 30)" for a
   * write to a read-only path; -32600 "Permission denied (os error 13)" for a
   * denied path; -32004 "No such file or directory (os error 2)" for a path
   * the profile does not show.
   */
  check(path: string, access: FsAccess): void {
    if (this.allows(path, access)) return;
    const glob = globAt(this.policy, path);
    if (glob) {
      throw new RpcError(
        ErrorCode.InvalidRequest,
        `Permission denied (os error 13): ${path} is denied by the sandbox profile (glob ${glob.pattern})`,
      );
    }
    const rule = ruleAt(this.policy, path);
    if (rule === undefined) {
      throw new RpcError(
        ErrorCode.NotFound,
        `No such file or directory (os error 2): ${path} is not visible under the sandbox profile`,
      );
    }
    if (rule.access === "deny") {
      throw new RpcError(
        ErrorCode.InvalidRequest,
        `Permission denied (os error 13): ${path} is denied by the sandbox profile (${rule.origin})`,
      );
    }
    throw new RpcError(
      ErrorCode.Internal,
      `Read-only file system (os error 30): ${path} is read-only under the sandbox profile (${rule.origin})`,
    );
  }
}
