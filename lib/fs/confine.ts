// Copyright 2026 the exec-server authors. MIT license.
/**
 * What an fs call may touch, beyond the roots: the policy seam every
 * resolved path passes through, the request sandbox `{readOnly,
 * writableRoots}` built on it, and the mapping of OS errors to wire errors.
 *
 * The roots themselves are enforced by the walk in `roots.ts`. A
 * {@linkcode PathPolicy} is consulted after it, on the canonical path, for
 * every path a call names (and for every directory `fs/walk` enters), so a
 * policy sees where a path really leads, never the client's spelling.
 *
 * @module
 */

import { ErrorCode, ErrorKind, invalidRequest, kindError, RpcError } from "../protocol/errors.ts";
import type { FsSandbox, FsSandboxParam } from "../protocol/fs.ts";
import { isWithin, messageOf } from "../util/mod.ts";
import { C, OsError } from "./libc.ts";
import { toNativePath } from "./paths.ts";
import type { FsRoots } from "./roots.ts";

/** Whether an operation reads or changes the path. */
export type PathAccess = "read" | "write";

/**
 * Decides whether a canonical path may be used. `check` throws an
 * {@linkcode RpcError} to refuse (-32600 for "not permitted", or -32004 to
 * make the path look absent); returning means allowed.
 *
 * @example A policy that keeps writes out of `.git`
 * ```ts
 * import { type PathPolicy } from "./confine.ts";
 * import { invalidRequest } from "../protocol/errors.ts";
 * import assert from "node:assert/strict";
 * const noGit: PathPolicy = {
 *   check(path, access) {
 *     if (access === "write" && /\/\.git(\/|$)/.test(path)) throw invalidRequest(`${path}: no`);
 *   },
 * };
 * assert.throws(() => noGit.check("/w/.git/config", "write"));
 * noGit.check("/w/.git/config", "read");
 * ```
 */
export interface PathPolicy {
  /** Throws to refuse `access` to the canonical absolute `path`. */
  check(path: string, access: PathAccess): void;
}

/** A policy that allows everything. */
export const ALLOW_ALL: PathPolicy = { check() {} };

/**
 * Builds the policy for a request's codex permission profile, or (called
 * with `null`) the one every call gets without a profile (an operator's
 * default). Return a policy, null for none, or throw an {@linkcode RpcError}
 * to refuse the call.
 */
export type SandboxPolicyFactory = (
  sandbox: FsSandboxParam | null,
  roots: FsRoots,
) => PathPolicy | null;

/**
 * The policy of one call's `sandbox`: for a codex permission profile, the
 * `factory`'s, or, without one, -32603 `sandboxUnavailable` (the call is
 * refused, never run unsandboxed); otherwise ours for `{readOnly,
 * writableRoots}` (none for `null` or absent), together with what the
 * factory answers for no profile (an operator's `serve --sandbox`).
 */
export function callPolicy(
  sandbox: FsSandboxParam | null | undefined,
  roots: FsRoots,
  factory: SandboxPolicyFactory | undefined,
): PathPolicy {
  if (
    sandbox !== undefined && sandbox !== null && "permissions" in sandbox &&
    sandbox.permissions !== undefined
  ) {
    if (factory === undefined) {
      throw kindError(
        ErrorKind.SandboxUnavailable,
        "this server cannot enforce codex sandbox profiles: refusing the fs call rather than " +
          "running it unsandboxed (send sandbox: null, or use {readOnly, writableRoots})",
      );
    }
    return factory(sandbox, roots) ?? ALLOW_ALL;
  }
  const own = sandbox === undefined || sandbox === null
    ? ALLOW_ALL
    : requestSandboxPolicy(sandbox as FsSandbox, roots);
  // The factory's answer for "no profile": the operator's, if any, applies too.
  const operator = factory?.(null, roots) ?? null;
  if (operator === null) return own;
  if (own === ALLOW_ALL) return operator;
  return {
    check(path, access) {
      own.check(path, access);
      operator.check(path, access);
    },
  };
}

/**
 * The policy of our own request sandbox: `readOnly` refuses every write;
 * `writableRoots` (resolved in the roots, so they cannot widen them) confine
 * writes to those directories.
 *
 * @throws {RpcError} -32600 when a writable root lies outside the roots;
 * -32602 when one is not an absolute path.
 */
export function requestSandboxPolicy(sandbox: FsSandbox, roots: FsRoots): PathPolicy {
  const writable: string[] | null = sandbox.writableRoots === undefined ? null : [];
  for (const [i, raw] of (sandbox.writableRoots ?? []).entries()) {
    const native = toNativePath(raw, `sandbox.writableRoots[${i}]`);
    try {
      using at = roots.resolve(native);
      writable!.push(at.path);
    } catch (err) {
      if (err instanceof RpcError && err.code === ErrorCode.InvalidRequest) {
        throw invalidRequest(
          `writable root ${native} is not permitted: it is outside the allowed roots ${
            roots.paths.join(", ")
          }`,
        );
      }
      throw mapFsError(err);
    }
  }
  const readOnly = sandbox.readOnly === true;
  if (!readOnly && writable === null) return ALLOW_ALL;
  return {
    check(path, access) {
      if (access !== "write") return;
      if (readOnly) {
        throw invalidRequest(`path ${path} is not permitted: the request sandbox is read-only`);
      }
      if (writable !== null && !writable.some((root) => isWithin(path, root))) {
        const list = writable.length === 0 ? "(none)" : writable.join(", ");
        throw invalidRequest(
          `path ${path} is not permitted: it is outside the writable roots ${list}`,
        );
      }
    },
  };
}

/**
 * Maps an error from a filesystem call to the wire error, the way codex does:
 * not found → -32004; permission denied or invalid input → -32600; any other
 * I/O error → -32603. The message is the OS's text, which names no path. An
 * {@linkcode RpcError} passes through unchanged.
 *
 * @example
 * ```ts
 * import { mapFsError } from "./confine.ts";
 * import { OsError } from "./libc.ts";
 * import assert from "node:assert/strict";
 * assert.equal(mapFsError(new OsError(2, "No such file or directory")).code, -32004);
 * ```
 */
export function mapFsError(err: unknown): RpcError {
  if (err instanceof RpcError) return err;
  if (err instanceof OsError) {
    if (err.errno === C.ENOENT) return new RpcError(ErrorCode.NotFound, err.message);
    if (err.errno === C.EACCES || err.errno === C.EPERM || err.errno === C.EINVAL) {
      return new RpcError(ErrorCode.InvalidRequest, err.message);
    }
    return new RpcError(ErrorCode.Internal, err.message);
  }
  return new RpcError(ErrorCode.Internal, messageOf(err));
}
