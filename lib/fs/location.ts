// Copyright 2026 the exec-server authors. MIT license.
/**
 * Where a resolved path led ({@linkcode Location}): its canonical form and
 * the descriptors of it and of its parent, which every fs operation works
 * on instead of the path.
 *
 * @module
 */

import { C, closeFd, OsError, type Stat } from "./libc.ts";

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
