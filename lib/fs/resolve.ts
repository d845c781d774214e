// Copyright 2026 the exec-server authors. MIT license.
/**
 * One resolution of a path inside the roots (see `roots.ts` for the rules):
 * a stack of directory descriptors from a root down, one component at a
 * time, symlinks read and walked in place, `..` popping the stack.
 *
 * @module
 */

import { joinPath, parentOf } from "../util/mod.ts";
import {
  C,
  closeFd,
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
import { Location } from "./location.ts";

/** Most symlinks followed while resolving one path (Linux allows 40 too). */
const MAX_SYMLINKS = 40;

/** One opened root. */
export interface Root {
  /** Canonical path. */
  path: string;
  /** Its components. */
  parts: string[];
  /** `O_PATH` directory descriptor, held for the server's lifetime. */
  fd: number;
}

/** Splits a path into components, dropping empty ones and `.`. */
export function components(path: string): string[] {
  return path.split("/").filter((c) => c !== "" && c !== ".");
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
export type Jump = (target: string) => { root: Root; rest: string[] };

/** One resolution: a stack of open directories from a root down. */
export class Walk {
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
