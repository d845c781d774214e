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
import { joinPath, parentOf } from "../util/mod.ts";
import {
  C,
  closeFd,
  fsUnavailableReason,
  hasOpenat2,
  isDir,
  isLink,
  openat,
  openat2,
  OsError,
  readlinkat,
  type Stat,
  statAt,
} from "./libc.ts";

/** Most symlinks followed while resolving one path (Linux allows 40 too). */
const MAX_SYMLINKS = 40;

/** One opened root. */
interface Root {
  /** Canonical path. */
  path: string;
  /** Its components. */
  parts: string[];
  /** `O_PATH` directory descriptor, held for the server's lifetime. */
  fd: number;
}

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
 * Where a path led: its canonical form and descriptors for it and its parent.
 * Dispose it to close them.
 */
export class Location implements Disposable {
  /** Canonical absolute path: no symlinks (except a final one not followed), no `.` or `..`. */
  readonly path: string;
  /** The last component's name; `""` when the path is a root itself. */
  readonly name: string;
  /** `O_PATH` descriptor of the parent directory; -1 when the path is a root. */
  readonly parent: number;
  /** `O_PATH | O_NOFOLLOW` descriptor of the node; -1 when it does not exist. */
  readonly node: number;
  /** The node's status; null when it does not exist. */
  readonly stat: Stat | null;
  /**
   * When the node does not exist: the missing components, `name` first (more
   * than one means the parent is missing too).
   */
  readonly missing: readonly string[];
  #closed = false;

  /** Takes ownership of `parent` and `node`. */
  constructor(
    path: string,
    name: string,
    parent: number,
    node: number,
    stat: Stat | null,
    missing: readonly string[] = [],
  ) {
    this.path = path;
    this.name = name;
    this.parent = parent;
    this.node = node;
    this.stat = stat;
    this.missing = missing;
  }

  /** True when the node exists. */
  get exists(): boolean {
    return this.node >= 0;
  }

  /** The node's status; throws ENOENT when it does not exist. */
  mustExist(): Stat {
    if (this.stat === null) throw new OsError(C.ENOENT);
    return this.stat;
  }

  /** The parent descriptor; throws ENOENT when the parent itself is missing. */
  get parentDir(): number {
    if (this.missing.length > 1) throw new OsError(C.ENOENT);
    if (this.parent < 0) throw new OsError(C.EBUSY);
    return this.parent;
  }

  /** Closes the descriptors; idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.parent >= 0) closeFd(this.parent);
    if (this.node >= 0) closeFd(this.node);
  }

  /** Same as {@linkcode Location.close}. */
  [Symbol.dispose](): void {
    this.close();
  }
}

/** Splits a path into components, dropping empty ones and `.`. */
export function components(path: string): string[] {
  return path.split("/").filter((c) => c !== "" && c !== ".");
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

interface Frame {
  fd: number;
  path: string;
  /** Root descriptors are borrowed, not closed. */
  owned: boolean;
  /** The components this frame adds to the one below (several after the openat2 shortcut). */
  span: readonly string[];
}

/** Finds the root holding an absolute path, or throws "not permitted". */
type Jump = (target: string) => { root: Root; rest: string[] };

/** One resolution: a stack of open directories from a root down. */
class Walk {
  #jump: Jump;
  #follow: boolean;
  #canonical: boolean;
  #stack: Frame[] = [];
  #pending: string[] = [];
  #budget = MAX_SYMLINKS;

  constructor(jump: Jump, root: Root, rest: string[], follow: boolean, canonical: boolean) {
    this.#jump = jump;
    this.#follow = follow;
    this.#canonical = canonical;
    this.#reset(root, rest);
  }

  #reset(root: Root, rest: readonly string[]): void {
    this.#closeStack();
    this.#stack.push({ fd: root.fd, path: root.path, owned: false, span: [] });
    this.#pending.push(...[...rest].reverse());
  }

  #closeStack(): void {
    for (const frame of this.#stack) if (frame.owned) closeFd(frame.fd);
    this.#stack = [];
  }

  get #top(): Frame {
    return this.#stack[this.#stack.length - 1]!;
  }

  run(): Location {
    try {
      this.#fastPrefix();
      while (this.#pending.length > 0) {
        const name = this.#pending.pop()!;
        if (name === "..") {
          this.#up();
          continue;
        }
        const done = this.#step(name);
        if (done !== null) return done;
      }
      // Nothing left: the path is the directory on top of the stack.
      const stat = statAt(this.#top.fd);
      const top = this.#stack.pop()!;
      const below = this.#stack[this.#stack.length - 1];
      const node = top.owned ? top.fd : dup(top.fd);
      top.owned = false;
      let parent = -1;
      try {
        if (below !== undefined) parent = dup(below.fd);
      } catch (err) {
        closeFd(node);
        throw err;
      }
      const name = below === undefined ? "" : top.path.slice(top.path.lastIndexOf("/") + 1);
      return new Location(top.path, name, parent, node, stat);
    } finally {
      this.#closeStack();
    }
  }

  /**
   * With openat2, opens every directory before the last component in one
   * call when none of them is a symlink or `..`; otherwise does nothing.
   */
  #fastPrefix(): void {
    const rest = [...this.#pending].reverse();
    if (rest.length < 2 || rest.includes("..") || !hasOpenat2()) return;
    const dirs = rest.slice(0, -1);
    let fd: number | null;
    try {
      fd = openat2(
        this.#top.fd,
        dirs.join("/"),
        C.O_PATH | C.O_DIRECTORY,
        C.RESOLVE_BENEATH | C.RESOLVE_NO_SYMLINKS,
      );
    } catch {
      return; // a symlink, a missing or odd component: the slow walk will say
    }
    if (fd === null) return;
    const path = dirs.reduce(joinPath, this.#top.path);
    this.#stack.push({ fd, path, owned: true, span: dirs });
    this.#pending = [rest[rest.length - 1]!];
  }

  #up(): void {
    if (this.#stack.length > 1) {
      const frame = this.#stack.pop()!;
      if (frame.owned) closeFd(frame.fd);
      // A frame the shortcut opened spans several directories: the parent
      // is the last but one of them, walked again from the frame below.
      this.#pending.push(...frame.span.slice(0, -1).reverse());
      return;
    }
    const base = this.#top.path;
    if (base === "/") return; // `/..` is `/`
    // Above a root: only into another root that holds the parent.
    const rest = [...this.#pending].reverse();
    this.#pending = [];
    const to = this.#jump(parentOf(base));
    this.#reset(to.root, [...to.rest, ...rest]);
  }

  /** Opens one component; returns the location when it was the last. */
  #step(name: string): Location | null {
    const top = this.#top;
    const isFinal = this.#pending.length === 0;
    let fd: number;
    try {
      fd = openat(top.fd, name, C.O_PATH | C.O_NOFOLLOW);
    } catch (err) {
      if (!(err instanceof OsError) || err.errno !== C.ENOENT) throw err;
      const missing = [name, ...[...this.#pending].reverse()];
      // Nothing below a missing directory exists, so `..` cannot be taken.
      if (missing.includes("..")) throw err;
      const parent = top.owned ? top.fd : dup(top.fd);
      top.owned = false;
      const path = missing.reduce(joinPath, top.path);
      return new Location(path, name, parent, -1, null, missing);
    }
    let stat: Stat;
    try {
      stat = statAt(fd);
    } catch (err) {
      closeFd(fd);
      throw err;
    }
    if (isLink(stat) && this.#canonical) {
      closeFd(fd);
      throw new OsError(C.ELOOP);
    }
    if (isLink(stat) && (!isFinal || this.#follow)) {
      let target: string;
      try {
        if (--this.#budget < 0) throw new OsError(C.ELOOP);
        target = readlinkat(fd);
      } finally {
        closeFd(fd);
      }
      if (target.startsWith("/")) {
        const rest = [...this.#pending].reverse();
        this.#pending = [];
        const to = this.#jump(target);
        this.#reset(to.root, [...to.rest, ...rest]);
      } else {
        this.#pending.push(...components(target).reverse());
      }
      return null;
    }
    const path = joinPath(top.path, name);
    if (isFinal) {
      const parent = top.owned ? top.fd : dup(top.fd);
      top.owned = false;
      return new Location(path, name, parent, fd, stat);
    }
    if (!isDir(stat)) {
      closeFd(fd);
      throw new OsError(C.ENOTDIR);
    }
    this.#stack.push({ fd, path, owned: true, span: [name] });
    return null;
  }
}

/** A second `O_PATH` descriptor for the same directory. */
function dup(fd: number): number {
  return openat(fd, ".", C.O_PATH | C.O_DIRECTORY);
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
