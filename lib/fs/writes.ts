// Copyright 2026 the exec-server authors. MIT license.
/**
 * The changing fs methods on resolved locations: writing a file (atomically,
 * or appending), creating directories, removing, copying. Each works on the
 * descriptors of a {@linkcode Location}, never on a path, and throws an
 * {@linkcode OsError}, an {@linkcode RpcError} or {@linkcode NodeChanged}
 * (the caller resolves again).
 *
 * @module
 */

import { invalidRequest } from "../protocol/errors.ts";
import { NodeChanged, openNode, replaceAtomically } from "./io.ts";
import {
  C,
  closeFd,
  ftruncate,
  isDir,
  isFile,
  isLink,
  mkdirat,
  openat,
  OsError,
  readlinkat,
  type Stat,
  statAt,
  symlinkat,
  unlinkat,
} from "./libc.ts";
import { closeChecked, pwriteAll, writeSeqAll } from "./libc_io.ts";
import { isWithin, joinPath, parentOf } from "../util/mod.ts";
import type { PathAccess } from "./confine.ts";
import type { Location } from "./roots.ts";
import { copyOpenFile, copyTree, removeTree } from "./tree.ts";

/**
 * `fs/writeFile` at `at`: replaces the file atomically (a temporary file
 * renamed over it), or appends. A FIFO or a device is written in place.
 */
export async function writeAt(at: Location, data: Uint8Array, append: boolean): Promise<void> {
  const info = at.stat;
  if (info !== null && isDir(info)) throw new OsError(C.EISDIR);
  const dir = at.parentDir;
  if (append) return await appendAt(at, dir, data);
  if (info !== null && !isFile(info)) {
    // Renaming over a FIFO or a device would replace it.
    const fd = openNode(at, C.O_WRONLY | C.O_TRUNC | C.O_NONBLOCK);
    try {
      await writeSeqAll(fd, data);
    } finally {
      closeFd(fd);
    }
    return;
  }
  await replaceAtomically(dir, at.name, info, (fd) => pwriteAll(fd, data, 0));
}

/**
 * `fs/createDirectory` at `at`: mkdir, or every missing component when
 * `recursive`. `check` (when given) is asked about every directory to be
 * created, `at.path` and the missing ones above it, before any is.
 */
export function makeDirectories(
  at: Location,
  recursive: boolean,
  check: ((path: string) => void) | null = null,
): void {
  if (at.exists) {
    if (recursive && isDir(at.mustExist())) return;
    throw new OsError(C.EEXIST);
  }
  if (!recursive && at.missing.length > 1) throw new OsError(C.ENOENT);
  if (check !== null) {
    let path = at.path;
    for (let i = 0; i < at.missing.length; i++, path = parentOf(path)) check(path);
  }
  let dir = openat(at.parent, ".", C.O_PATH | C.O_DIRECTORY);
  try {
    for (const name of at.missing) {
      try {
        mkdirat(dir, name);
      } catch (err) {
        // Created meanwhile: resolve again and see what it is.
        if (err instanceof OsError && err.errno === C.EEXIST) throw new NodeChanged();
        throw err;
      }
      const next = openat(dir, name, C.O_PATH | C.O_DIRECTORY | C.O_NOFOLLOW);
      closeFd(dir);
      dir = next;
    }
  } finally {
    closeFd(dir);
  }
}

/**
 * `fs/remove` at `at` (a link is removed, never its target); a root is
 * refused. `check` (when given) is asked about every path below a directory
 * before anything is removed.
 */
export async function removeAt(
  at: Location,
  recursive: boolean,
  check: ((path: string) => void) | null = null,
): Promise<void> {
  const info = at.mustExist();
  if (at.parent < 0) {
    throw invalidRequest(`fs/remove cannot remove the root directory ${at.path}`);
  }
  if (!isDir(info)) return unlinkat(at.parent, at.name);
  if (recursive) {
    const guard = check && ((rel: string) => check(joinPath(at.path, rel)));
    return await removeTree(at.parent, at.name, guard);
  }
  unlinkat(at.parent, at.name, true);
}

/**
 * `fs/copy` of `from` (not followed) to `to` (followed): a link as a link, a
 * file atomically, a directory tree when `recursive`. `check` (when given)
 * is asked, before anything is written, about every path a tree copy would
 * read below `from` and write below `to`.
 */
export async function copyAt(
  from: Location,
  to: Location,
  recursive: boolean,
  check: ((path: string, access: PathAccess) => void) | null = null,
): Promise<void> {
  const info = from.mustExist();
  const dir = to.parentDir;
  if (isLink(info)) return symlinkat(readlinkat(from.node), dir, to.name);
  if (isDir(info)) {
    if (!recursive) {
      throw invalidRequest("fs/copy requires recursive: true when sourcePath is a directory");
    }
    if (isWithin(to.path, from.path)) {
      throw invalidRequest("fs/copy cannot copy a directory to itself or one of its descendants");
    }
    const fd = openNode(from, C.O_RDONLY);
    try {
      const guard = check && ((rel: string) => {
        check(joinPath(from.path, rel), "read");
        check(joinPath(to.path, rel), "write");
      });
      return await copyTree(fd, dir, to.name, guard);
    } finally {
      closeFd(fd);
    }
  }
  if (!isFile(info)) {
    throw invalidRequest("fs/copy only supports regular files, directories, and symlinks");
  }
  const fd = openNode(from, C.O_RDONLY | C.O_NONBLOCK);
  try {
    await copyOpenFile(fd, dir, to.name);
  } finally {
    closeFd(fd);
  }
}

/**
 * Appends `data` to the file of `at` (created when missing). On failure the
 * file is cut back to its old size, or removed when this call created it.
 */
async function appendAt(at: Location, dir: number, data: Uint8Array): Promise<void> {
  let fd: number;
  let created = false;
  if (at.exists) {
    fd = openNode(at, C.O_WRONLY | C.O_APPEND | C.O_NONBLOCK);
  } else {
    const flags = C.O_WRONLY | C.O_APPEND | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW;
    try {
      fd = openat(dir, at.name, flags);
    } catch (err) {
      if (err instanceof OsError && err.errno === C.EEXIST) throw new NodeChanged();
      throw err;
    }
    created = true;
  }
  let before: Stat;
  try {
    before = statAt(fd);
  } catch (err) {
    closeFd(fd);
    throw err;
  }
  const regular = isFile(before);
  try {
    // pwrite on an O_APPEND descriptor appends on Linux, whatever the offset.
    if (regular) await pwriteAll(fd, data, before.size);
    else await writeSeqAll(fd, data);
  } catch (err) {
    try {
      if (created) unlinkat(dir, at.name);
      else if (regular) ftruncate(fd, before.size);
    } catch {
      // Best effort: the write error is what the caller needs.
    }
    closeFd(fd);
    throw err;
  }
  closeChecked(fd);
}
