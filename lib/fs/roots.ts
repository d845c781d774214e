// Copyright 2026 the exec-server authors. MIT license.
/**
 * Race-free path resolution inside a set of root directories.
 *
 * ## How a path is resolved
 *
 * Each root (`serve --fs-root`, or `/` when there is none) is opened once,
 * at startup, as an `O_PATH` directory descriptor. A wire path must *name*
 * a place inside a root: its text, with `.` and empty components dropped,
 * starts with the root's components. A path outside every root is refused at
 * once, before the filesystem is touched, so the answer is the same whether or
 * not it exists.
 *
 * The rest is walked one component at a time, each opened relative to the
 * descriptor of its parent with `O_PATH | O_NOFOLLOW` and examined with
 * `statx` on the new descriptor. Every decision is made on a descriptor the
 * server holds, so there is no window between a check and a use: a component
 * swapped for a symlink after it was opened does not matter, because the walk
 * goes on from the directory it opened, not from a path. When the kernel has
 * `openat2(2)`, the directories in front of the last component are first tried
 * in one call with `RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS`; any symlink or
 * `..` on the way sends the walk down the slow path.
 *
 * Symlinks are followed by the walk itself: the link's text is read from the
 * descriptor (`readlinkat`) and its components are walked in place of the
 * link. A relative target continues from the link's directory; `..` pops back
 * to the parent descriptor, so it leaves the link's *target*, as the kernel
 * does. An absolute target must again name a place inside a root (any root,
 * not only the one the walk started in) and restarts from that root's
 * descriptor. A `..` above a root, or a link that leads outside every root, is
 * refused with the same message as a path outside, naming no target.
 *
 * This is the kernel's `RESOLVE_BENEATH` with one difference, which is why
 * the walk is done here: absolute symlinks that point inside a root keep
 * working, because paths on the wire are host paths. `RESOLVE_IN_ROOT` would
 * re-anchor them at the root (a chroot view), and `RESOLVE_BENEATH` alone
 * refuses them.
 *
 * What the resolution cannot see: a directory the server holds being moved
 * out of the root by someone with write access outside it while a walk is
 * under way. The walk then continues inside the moved directory.
 *
 * @module
 */

import { ErrorCode, invalidRequest, RpcError } from "../protocol/errors.ts";
import { C, closeFd, fsUnavailableReason, openat, OsError } from "./libc.ts";
import { Location } from "./location.ts";
import { components, type Root, Walk } from "./resolve.ts";

export { Location } from "./location.ts";
export { components } from "./resolve.ts";

/** Options of {@linkcode FsRoots.resolve}. */
export interface ResolveOptions {
  /**
   * Follow a symlink in the final component. A trailing `/` follows it anyway.
   *
   * @default {true}
   */
  follow?: boolean;
  /**
   * The path is canonical (a path this resolver returned, or one built from
   * it by appending names read from a directory): open it exactly as
   * written, following no symlink; a link in any component, the last
   * included, fails with ELOOP. The place opened is then the place the path names, even if
   * a component was swapped for a link since the path was built. Implies
   * `follow: false`.
   *
   * @default {false}
   */
  canonical?: boolean;
}

/**
 * The roots every fs path is resolved in. With no roots given, `/` is the
 * only root, so the same race-free walk runs without confinement.
 *
 * @example
 * ```ts
 * import { FsRoots } from "./roots.ts";
 * import assert from "node:assert/strict";
 * const dir = await Deno.realPath(await Deno.makeTempDir());
 * using roots = FsRoots.open([dir]);
 * await Deno.writeTextFile(`${dir}/a.txt`, "a");
 * using at = roots.resolve(`${dir}/./a.txt`);
 * assert.equal(at.path, `${dir}/a.txt`);
 * assert.throws(() => roots.resolve("/etc/passwd"), /not permitted/);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export class FsRoots implements Disposable {
  #roots: Root[];
  #confined: boolean;
  #closed = false;

  private constructor(roots: Root[], confined: boolean) {
    this.#roots = roots;
    this.#confined = confined;
  }

  /**
   * Canonicalizes and opens the roots; no roots means `/`.
   *
   * @throws {Error} When a root cannot be resolved or is not a directory.
   */
  static open(paths: readonly string[] = []): FsRoots {
    const canonical = new Set<string>();
    for (const path of paths) {
      try {
        canonical.add(Deno.realPathSync(path));
      } catch (err) {
        throw new Error(`Cannot use fs root ${path}: ${err instanceof Error ? err.message : err}`);
      }
    }
    const list = canonical.size === 0 ? ["/"] : [...canonical];
    const roots: Root[] = [];
    try {
      for (const path of list) {
        let fd: number;
        try {
          fd = openat(C.AT_FDCWD, path, C.O_PATH | C.O_DIRECTORY);
        } catch (err) {
          throw new Error(`Cannot use fs root ${path}: ${(err as Error).message}`);
        }
        roots.push({ path, parts: components(path), fd });
      }
    } catch (err) {
      for (const root of roots) closeFd(root.fd);
      throw err;
    }
    // Longest first, so a nested root wins over its parent.
    roots.sort((a, b) => b.parts.length - a.parts.length);
    return new FsRoots(roots, canonical.size > 0);
  }

  /** The canonical roots; empty when unconfined (the root is `/`). */
  get paths(): readonly string[] {
    return this.#confined ? this.#roots.map((r) => r.path) : [];
  }

  /** Closes the root descriptors; idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const root of this.#roots) closeFd(root.fd);
  }

  /** Same as {@linkcode FsRoots.close}. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** The error for anything that is, or leads, outside every root. */
  notPermitted(raw: string): RpcError {
    return invalidRequest(
      `path ${raw} is not permitted: it is outside the allowed roots ${this.paths.join(", ")}`,
    );
  }

  /** The root whose components start `parts`, and the rest; null if none. */
  #rootOf(parts: readonly string[]): { root: Root; rest: string[] } | null {
    for (const root of this.#roots) {
      if (root.parts.every((p, i) => parts[i] === p)) {
        return { root, rest: parts.slice(root.parts.length) };
      }
    }
    return null;
  }

  /** True when `path` (canonical) is a root or inside one. */
  contains(path: string): boolean {
    return this.#rootOf(components(path)) !== null;
  }

  /**
   * Resolves an absolute native path inside the roots.
   *
   * @param native An absolute path (as converted from the wire).
   * @param options See {@linkcode ResolveOptions}.
   * @returns The location; the caller disposes it.
   * @throws {RpcError} -32600 when the path is or leads outside every root.
   * @throws {OsError} When a component cannot be opened (ENOTDIR, EACCES,
   * ELOOP after 40 links, …). A missing component is not an error: the
   * location says what is missing.
   */
  resolve(native: string, options: ResolveOptions = {}): Location {
    if (this.#closed) throw new Error("FsRoots is closed");
    const canonical = options.canonical ?? false;
    const follow = !canonical && ((options.follow ?? true) || /\/\.?$/.test(native));
    const start = this.#rootOf(components(native));
    if (start === null) throw this.notPermitted(native);
    const jump = (target: string) => {
      const found = this.#rootOf(components(target));
      if (found === null) throw this.notPermitted(native);
      return found;
    };
    // As codex (a Rust path), a trailing slash does not demand a directory.
    return new Walk(jump, start.root, start.rest, follow, canonical).run();
  }
}

/** The -32004 error for a missing path, in codex's words. */
export function notFound(): RpcError {
  return new RpcError(ErrorCode.NotFound, new OsError(C.ENOENT).message);
}

/**
 * Throws when fs calls cannot run here (no FFI, not Linux) or a root is
 * unusable; a server calls it at startup so a bad `--fs-root` fails early.
 * Here rather than in `service.ts` so that a server checks its roots
 * without loading the whole fs layer, which loads on the first fs call.
 *
 * @returns The canonical roots.
 */
export function checkFsRoots(roots: readonly string[]): string[] {
  const reason = fsUnavailableReason();
  if (reason !== null) {
    if (roots.length > 0) throw new Error(`--fs-root cannot be enforced: ${reason}`);
    return [];
  }
  using opened = FsRoots.open(roots);
  return [...opened.paths];
}
