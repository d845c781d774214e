// Copyright 2026 the exec-server authors. MIT license.
/**
 * Path handling for the fs RPCs: turning a wire path into a native path,
 * resolving it component by component, confining it to the configured roots,
 * and mapping OS errors to JSON-RPC errors.
 *
 * ## How confinement works
 *
 * {@linkcode resolvePath} walks the path one component at a time with
 * `lstat`. A symlink is replaced by its target (read with `readlink`) and the
 * walk continues from there, so a `..` that follows a symlink climbs out of
 * the symlink's *target*, exactly as the kernel does. The result is a
 * canonical path with no symlinks and no `.`/`..` in it (except, when asked,
 * the final component, which may be a symlink, as `fs/remove` needs). Only
 * then does {@linkcode PathConfinement} check that the canonical path lies
 * inside an allowed root (roots are canonicalized once, at construction). The
 * handlers then operate on the canonical path, never on the client's text.
 *
 * ## The remaining time-of-check/time-of-use window
 *
 * Between the check and the use, another process that can write inside a
 * root could replace a directory on the canonical path with a symlink to
 * somewhere outside, and the operation would follow it. What narrows the
 * window: (1) the operation uses the canonical path, so only a component
 * swapped during those few microseconds matters, not any symlink that was
 * already there; (2) `fs/readFile` and `fs/writeFile` open the final
 * component with `O_NOFOLLOW`, so a swapped *final* component fails instead of
 * being followed, and `fs/remove` never follows the final component; (3) roots
 * should be owned by the server's user and not writable by other users, so
 * only processes the client itself started can race it. Closing the window
 * completely needs `openat2(RESOLVE_BENEATH)` or a descriptor-relative walk,
 * which Deno does not offer.
 *
 * POSIX paths only: on Windows every native path would be rejected as
 * relative.
 *
 * @module
 */

import { toNativePath } from "./paths.ts";
import {
  ErrorCode,
  ErrorKind,
  invalidParams,
  invalidRequest,
  kindError,
  RpcError,
} from "../protocol/errors.ts";
import type { FsSandbox, FsSandboxParam } from "../protocol/fs.ts";
import { joinPath, messageOf, parentOf } from "../util/mod.ts";

/** Most symlinks followed while resolving one path (Linux uses 40 too). */
const MAX_SYMLINKS = 40;

/**
 * Maps an error from a filesystem call to the wire error, the way codex does:
 * not found → -32004; permission denied or invalid input → -32600; any other
 * I/O error → -32603. The message is the OS error text. An
 * {@linkcode RpcError} passes through unchanged.
 *
 * @example
 * ```ts
 * import { mapFsError } from "./confine.ts";
 * import assert from "node:assert/strict";
 * const err = mapFsError(new Deno.errors.NotFound("gone"));
 * assert.equal(err.code, -32004);
 * ```
 */
export function mapFsError(err: unknown): RpcError {
  if (err instanceof RpcError) return err;
  const message = messageOf(err);
  if (isNotFound(err)) return new RpcError(ErrorCode.NotFound, message);
  const code = errorCode(err);
  if (
    err instanceof Deno.errors.PermissionDenied ||
    err instanceof Deno.errors.NotCapable ||
    code === "EACCES" || code === "EPERM" || code === "EINVAL"
  ) {
    return new RpcError(ErrorCode.InvalidRequest, message);
  }
  return new RpcError(ErrorCode.Internal, message);
}

/** True when `err` is a "no such file or directory" error. */
function isNotFound(err: unknown): boolean {
  return err instanceof Deno.errors.NotFound || errorCode(err) === "ENOENT";
}

function errorCode(err: unknown): unknown {
  return typeof err === "object" && err !== null && "code" in err ? err.code : undefined;
}

/** The two filesystem calls the resolver needs; injectable for tests. */
export interface ResolverFs {
  /** Like `Deno.lstat`; must reject with a not-found error for a missing path. */
  lstat(path: string): Promise<{ isSymlink: boolean }>;
  /** Like `Deno.readLink`. */
  readLink(path: string): Promise<string>;
}

const DENO_FS: ResolverFs = {
  lstat: (path) => Deno.lstat(path),
  readLink: (path) => Deno.readLink(path),
};

/** Options for {@linkcode resolvePath}. */
export interface ResolveOptions {
  /**
   * Follow a symlink in the final component. False for operations on the link
   * itself (remove, copy source, `isSymlink`).
   *
   * @default {true}
   */
  followFinal?: boolean;
  /**
   * Most symlinks to follow before failing.
   *
   * @default {40}
   */
  maxSymlinks?: number;
  /** The filesystem to probe; defaults to Deno's. */
  fs?: ResolverFs;
}

/** A canonical path and whether it exists. */
export interface ResolvedPath {
  /** Absolute path without symlinks (except a kept final one) or `.`/`..`. */
  path: string;
  /**
   * False when some trailing components do not exist yet; they are appended
   * as written (they cannot be symlinks, since they do not exist).
   */
  exists: boolean;
}

/**
 * Resolves an absolute path component by component, like `realpath(3)`, but
 * tolerating missing trailing components (so a file or directory about to be
 * created can be checked) and optionally keeping a final symlink.
 *
 * @param path An absolute native path.
 * @param options See {@linkcode ResolveOptions}.
 * @returns The canonical path and whether it exists.
 * @throws {RpcError} -32004 when a missing component is followed by `..`;
 * -32603 on a symlink loop; any other lstat/readlink failure, mapped.
 *
 * @example
 * ```ts
 * import { resolvePath } from "./confine.ts";
 * import assert from "node:assert/strict";
 * const { path } = await resolvePath("/tmp/../tmp/./x");
 * assert.ok(path.endsWith("/x"));
 * ```
 */
export async function resolvePath(
  path: string,
  options: ResolveOptions = {},
): Promise<ResolvedPath> {
  const fs = options.fs ?? DENO_FS;
  // A trailing "/" or "/." names the directory a final symlink points to.
  const followFinal = (options.followFinal ?? true) || /\/\.?$/.test(path);
  let budget = options.maxSymlinks ?? MAX_SYMLINKS;
  if (!path.startsWith("/")) {
    throw invalidParams(`path must be absolute: ${path}`);
  }
  // A stack: the next component to visit is at the end.
  const pending = components(path).reverse();
  let resolved = "/";
  while (pending.length > 0) {
    const name = pending.pop() as string;
    if (name === "..") {
      resolved = parentOf(resolved);
      continue;
    }
    const candidate = joinPath(resolved, name);
    const isFinal = pending.length === 0;
    let isSymlink: boolean;
    try {
      isSymlink = (await fs.lstat(candidate)).isSymlink;
    } catch (err) {
      if (!isNotFound(err)) throw mapFsError(err);
      // Nothing below a missing directory exists, so `..` cannot be
      // resolved the way the kernel would; the kernel would fail too.
      if (pending.includes("..")) {
        throw new RpcError(
          ErrorCode.NotFound,
          `No such file or directory: ${candidate}`,
        );
      }
      const rest = pending.reverse();
      return { path: [candidate, ...rest].join("/"), exists: false };
    }
    if (!isSymlink || (isFinal && !followFinal)) {
      resolved = candidate;
      continue;
    }
    if (--budget < 0) {
      throw new RpcError(
        ErrorCode.Internal,
        `Cannot resolve ${path}: too many levels of symbolic links`,
      );
    }
    let target: string;
    try {
      target = await fs.readLink(candidate);
    } catch (err) {
      throw mapFsError(err);
    }
    pending.push(...components(target).reverse());
    if (target.startsWith("/")) resolved = "/";
  }
  return { path: resolved, exists: true };
}

/** Splits a path into components, dropping empty ones and `.`. */
function components(path: string): string[] {
  return path.split("/").filter((c) => c !== "" && c !== ".");
}

/**
 * True when the canonical `path` is `root` or lies below it. Both must be
 * canonical; this is a string comparison.
 *
 * @example
 * ```ts
 * import { isWithin } from "./confine.ts";
 * import assert from "node:assert/strict";
 * assert.ok(isWithin("/a/b", "/a"));
 * assert.ok(!isWithin("/ab", "/a"));
 * ```
 */
export function isWithin(path: string, root: string): boolean {
  if (root === "/") return true;
  return path === root || path.startsWith(`${root}/`);
}

/** Whether an operation reads or changes the path. */
export type PathAccess = "read" | "write";

/** Options for {@linkcode PathConfinement.resolve}. */
export interface ConfineOptions {
  /** Reads are checked against the roots; writes also against the sandbox. */
  access: PathAccess;
  /**
   * The params field the path came from, named in error messages.
   *
   * @default {"path"}
   */
  field?: string;
  /**
   * Follow a symlink in the final component.
   *
   * @default {true}
   */
  followFinal?: boolean;
  /** The request's sandbox, if any: ours, or codex's permission profile. */
  sandbox?: FsSandboxParam | null | undefined;
}

/**
 * The request's sandbox as this server enforces it: ours, or nothing. A codex
 * permission profile cannot be enforced yet, so it fails the call with
 * -32603 `sandboxUnavailable` instead of being ignored.
 */
function ownSandbox(sandbox: FsSandboxParam | null | undefined): FsSandbox | undefined {
  if (sandbox === null || sandbox === undefined) return undefined;
  if ("permissions" in sandbox && sandbox.permissions !== undefined) {
    throw kindError(
      ErrorKind.SandboxUnavailable,
      "this server cannot enforce codex sandbox profiles: refusing the fs call rather than " +
        "running it unsandboxed (send sandbox: null, or use {readOnly, writableRoots})",
    );
  }
  return sandbox as FsSandbox;
}

/**
 * Confines fs paths to a set of roots (`serve --fs-root`), narrowed further by
 * a per-request {@linkcode FsSandbox}. With no roots the whole filesystem is
 * allowed, but a request sandbox still applies.
 *
 * @example
 * ```ts
 * import { PathConfinement } from "./confine.ts";
 * import assert from "node:assert/strict";
 * const root = await Deno.makeTempDir();
 * const confinement = new PathConfinement([root]);
 * await assert.rejects(confinement.resolve("/etc/passwd", { access: "read" }), { code: -32600 });
 * await Deno.remove(root);
 * ```
 */
export class PathConfinement {
  #roots: readonly string[];

  /**
   * Canonicalizes the roots; they must exist.
   *
   * @throws {Error} When a root cannot be resolved.
   */
  constructor(roots: readonly string[] = []) {
    const canonical = new Set<string>();
    for (const root of roots) {
      try {
        canonical.add(Deno.realPathSync(root));
      } catch (err) {
        const detail = messageOf(err);
        throw new Error(`Cannot use fs root ${root}: ${detail}`);
      }
    }
    this.#roots = [...canonical];
  }

  /** The canonical roots; empty means the whole filesystem. */
  get roots(): readonly string[] {
    return this.#roots;
  }

  /**
   * Converts, resolves and checks one path.
   *
   * @param raw The path as the client sent it.
   * @param options See {@linkcode ConfineOptions}.
   * @returns The canonical path to operate on.
   * @throws {RpcError} -32602 for a bad path; -32600 "… is not permitted"
   * when it escapes the roots or the sandbox; resolution errors, mapped.
   */
  async resolve(raw: string, options: ConfineOptions): Promise<ResolvedPath> {
    const field = options.field ?? "path";
    const native = toNativePath(raw, field);
    const sandbox = ownSandbox(options.sandbox);
    const write = options.access === "write";
    if (write && sandbox?.readOnly === true) {
      throw invalidRequest(
        `path ${native} is not permitted: the request sandbox is read-only`,
      );
    }
    const followFinal = options.followFinal ?? true;
    const resolved = await resolvePath(native, { followFinal });
    check("path", native, resolved.path, this.#roots, "allowed roots");
    if (write && sandbox?.writableRoots !== undefined) {
      const writable = await this.#writableRoots(sandbox.writableRoots);
      check("path", native, resolved.path, writable, "writable roots", true);
    }
    return resolved;
  }

  /** Canonicalizes a request's writable roots; each must be inside a root. */
  async #writableRoots(roots: readonly string[]): Promise<string[]> {
    const out: string[] = [];
    for (const [i, raw] of roots.entries()) {
      const field = `sandbox.writableRoots[${i}]`;
      const native = toNativePath(raw, field);
      const { path } = await resolvePath(native);
      check("writable root", native, path, this.#roots, "allowed roots");
      out.push(path);
    }
    return out;
  }
}

/** Throws "… is not permitted" unless `resolved` lies inside one of `roots`. */
function check(
  label: string,
  native: string,
  resolved: string,
  roots: readonly string[],
  what: string,
  emptyDeniesAll = false,
): void {
  if (roots.length === 0 && !emptyDeniesAll) return;
  if (roots.some((root) => isWithin(resolved, root))) return;
  const where = resolved === native ? "it is outside" : `it resolves to ${resolved}, outside`;
  const list = roots.length === 0 ? "(none)" : roots.join(", ");
  throw invalidRequest(
    `${label} ${native} is not permitted: ${where} the ${what} ${list}`,
  );
}
