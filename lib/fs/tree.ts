// Copyright 2026 the exec-server authors. MIT license.
/**
 * Recursive copy and remove, entirely relative to directory descriptors and
 * never following a symlink: a link inside a tree is copied as a link or
 * removed as a link, and a directory swapped for a link while the tree is
 * being processed stops the operation on that entry instead of leading out.
 *
 * A sandbox policy may refuse a path deep inside a tree it allows at the top
 * (a workspace is writable, its `.git` is not), so both operations take a
 * {@linkcode TreeGuard}: every path they would create, overwrite or remove
 * (and every path a copy reads) is checked, first in a pass that changes nothing (so a refused tree is left
 * as it was) and again just before the change (the tree may have changed in
 * between).
 *
 * @module
 */

import {
  C,
  closeFd,
  type DirEntry,
  fchmod,
  isDir,
  isFile,
  isLink,
  mkdirat,
  openat,
  OsError,
  readDirBatch,
  readlinkat,
  renameat,
  type Stat,
  statAt,
  symlinkat,
  unlinkat,
} from "./libc.ts";
import { copyData, replaceAtomically, tempName, yieldToLoop } from "./io.ts";

/**
 * The check of a tree operation: throws to refuse the entry at `rel`, its
 * path relative to the tree's top (`.git/hooks/pre-commit`), before it is
 * created, overwritten, removed or (for a copy's source) read.
 */
export type TreeGuard = (rel: string) => void;

/**
 * Deepest tree `fs/copy` and `fs/remove` descend into; each level holds one
 * descriptor open.
 */
export const MAX_TREE_DEPTH = 256;

/** Entries handled between two turns of the event loop. */
const YIELD_EVERY = 512;

/** Reads every entry of an open directory. */
export function listAll(dir: number): DirEntry[] {
  const buffer = new Uint8Array(64 * 1024);
  const out: DirEntry[] = [];
  for (;;) {
    const batch = readDirBatch(dir, buffer);
    if (batch === null) return out;
    out.push(...batch);
  }
}

/** Opens `name` in `dir` as a readable directory without following a link. */
function openDir(dir: number, name: string): number {
  return openat(dir, name, C.O_RDONLY | C.O_DIRECTORY | C.O_NOFOLLOW);
}

function tooDeep(): OsError {
  return new OsError(C.ELOOP, `Directory tree deeper than ${MAX_TREE_DEPTH} levels`);
}

class Pacer {
  #count = 0;
  async tick(): Promise<void> {
    if (++this.#count % YIELD_EVERY === 0) await yieldToLoop();
  }
}

/**
 * Removes `name` from `dir` with everything below it. A symlink is removed,
 * never its target. With a `guard`, nothing is removed unless every path
 * below may be.
 */
export async function removeTree(
  dir: number,
  name: string,
  guard: TreeGuard | null = null,
): Promise<void> {
  const pace = new Pacer();
  if (guard !== null) {
    const fd = openDirOrNull(dir, name);
    if (fd !== null) {
      try {
        await scanTree(fd, "", guard, true, 0, pace);
      } finally {
        closeFd(fd);
      }
    }
  }
  await removeIn(dir, name, "", guard, 0, pace);
}

async function removeIn(
  dir: number,
  name: string,
  rel: string,
  guard: TreeGuard | null,
  depth: number,
  pace: Pacer,
): Promise<void> {
  if (depth > MAX_TREE_DEPTH) throw tooDeep();
  let fd: number;
  try {
    fd = openDir(dir, name);
  } catch (err) {
    // Not a directory (any more): remove it as a file or link.
    if (err instanceof OsError && (err.errno === C.ENOTDIR || err.errno === C.ELOOP)) {
      unlinkat(dir, name);
      return;
    }
    throw err;
  }
  try {
    // A pass can miss entries created meanwhile; a few passes settle it.
    for (let pass = 0; pass < 4; pass++) {
      const entries = listFresh(fd);
      if (entries.length === 0) break;
      for (const entry of entries) {
        await pace.tick();
        const child = relJoin(rel, entry.name);
        guard?.(child);
        if (entry.type === C.DT_DIR || entry.type === C.DT_UNKNOWN) {
          await removeIn(fd, entry.name, child, guard, depth + 1, pace);
          continue;
        }
        try {
          unlinkat(fd, entry.name);
        } catch (err) {
          if (!(err instanceof OsError)) throw err;
          if (err.errno === C.ENOENT) continue;
          if (err.errno !== C.EISDIR) throw err;
          await removeIn(fd, entry.name, child, guard, depth + 1, pace);
        }
      }
    }
  } finally {
    closeFd(fd);
  }
  unlinkat(dir, name, true);
}

/** `name` in `dir` opened as a directory, or null when it is not one (or is gone). */
function openDirOrNull(dir: number, name: string): number | null {
  try {
    return openDir(dir, name);
  } catch (err) {
    if (
      err instanceof OsError &&
      (err.errno === C.ENOTDIR || err.errno === C.ELOOP || err.errno === C.ENOENT)
    ) return null;
    throw err;
  }
}

/**
 * Runs `guard` on every entry below the open directory `dir` (whose own
 * relative path is `rel`), changing nothing. `specials` includes FIFOs,
 * sockets and devices (a remove takes them; a copy skips them).
 */
async function scanTree(
  dir: number,
  rel: string,
  guard: TreeGuard,
  specials: boolean,
  depth: number,
  pace: Pacer,
): Promise<void> {
  if (depth > MAX_TREE_DEPTH) throw tooDeep();
  for (const entry of listFresh(dir)) {
    await pace.tick();
    let type = entry.type;
    if (type === C.DT_UNKNOWN) {
      try {
        type = typeOf(statAt(dir, entry.name));
      } catch (err) {
        if (err instanceof OsError && err.errno === C.ENOENT) continue;
        throw err;
      }
    }
    const copied = type === C.DT_DIR || type === C.DT_REG || type === C.DT_LNK;
    if (!copied && !specials) continue;
    const child = relJoin(rel, entry.name);
    guard(child);
    if (type !== C.DT_DIR) continue;
    const fd = openDirOrNull(dir, entry.name);
    if (fd === null) continue;
    try {
      await scanTree(fd, child, guard, specials, depth + 1, pace);
    } finally {
      closeFd(fd);
    }
  }
}

/** `name` below the relative path `rel` ("" is the top). */
function relJoin(rel: string, name: string): string {
  return rel === "" ? name : `${rel}/${name}`;
}

/** The `DT_*` type of a status (-1 for a FIFO, socket or device). */
function typeOf(stat: Stat): number {
  if (isDir(stat)) return C.DT_DIR;
  if (isFile(stat)) return C.DT_REG;
  if (isLink(stat)) return C.DT_LNK;
  return -1;
}

/** Every entry of the directory `fd`, read through a fresh descriptor (from the top). */
function listFresh(fd: number): DirEntry[] {
  const view = openat(fd, ".", C.O_RDONLY | C.O_DIRECTORY);
  try {
    return listAll(view);
  } finally {
    closeFd(view);
  }
}

/**
 * Copies the directory open as `from` to `name` in `toDir`. When `name` does
 * not exist, the copy is built under a temporary name and renamed into place
 * at the end, so a failure leaves nothing behind; when it is an existing
 * directory, the entries are merged into it, each file replaced atomically.
 * Symlinks are copied as links; FIFOs, sockets and devices are skipped.
 * With a `guard`, nothing is written unless every destination path may be.
 */
export async function copyTree(
  from: number,
  toDir: number,
  name: string,
  guard: TreeGuard | null = null,
): Promise<void> {
  const pace = new Pacer();
  if (guard !== null) await scanTree(from, "", guard, false, 0, pace);
  let existing: number;
  try {
    existing = openDir(toDir, name);
  } catch (err) {
    if (!(err instanceof OsError) || err.errno !== C.ENOENT) throw err;
    const temp = tempName();
    mkdirat(toDir, temp, 0o700);
    try {
      const fd = openDir(toDir, temp);
      try {
        await copyInto(from, fd, "", guard, 0, pace);
        chmodDir(fd, statAt(from).mode & 0o7777);
      } finally {
        closeFd(fd);
      }
      renameat(toDir, temp, toDir, name, true);
    } catch (err) {
      await removeTree(toDir, temp).catch(() => {});
      throw err;
    }
    return;
  }
  try {
    await copyInto(from, existing, "", guard, 0, pace);
  } finally {
    closeFd(existing);
  }
}

/** Sets a directory's mode; one that cannot be set leaves the default. */
function chmodDir(fd: number, mode: number): void {
  try {
    fchmod(fd, mode);
  } catch {
    // For example a filesystem without modes.
  }
}

/** Copies the entries of `from` into `to` (both at `rel` in their trees). */
async function copyInto(
  from: number,
  to: number,
  rel: string,
  guard: TreeGuard | null,
  depth: number,
  pace: Pacer,
): Promise<void> {
  if (depth > MAX_TREE_DEPTH) throw tooDeep();
  for (const entry of listAll(from)) {
    await pace.tick();
    const stat = statAt(from, entry.name);
    const child = relJoin(rel, entry.name);
    if (typeOf(stat) !== -1) guard?.(child);
    if (isLink(stat)) {
      symlinkat(readlinkat(from, entry.name), to, entry.name);
    } else if (isDir(stat)) {
      const src = openDir(from, entry.name);
      try {
        let dst: number;
        try {
          dst = openDir(to, entry.name);
        } catch (err) {
          if (!(err instanceof OsError) || err.errno !== C.ENOENT) {
            // Something that is not a directory is in the way; never follow it.
            throw err instanceof OsError && err.errno === C.ELOOP ? new OsError(C.EEXIST) : err;
          }
          mkdirat(to, entry.name, 0o700);
          dst = openDir(to, entry.name);
          try {
            await copyInto(src, dst, child, guard, depth + 1, pace);
            chmodDir(dst, stat.mode & 0o7777);
          } finally {
            closeFd(dst);
          }
          continue;
        }
        try {
          await copyInto(src, dst, child, guard, depth + 1, pace);
        } finally {
          closeFd(dst);
        }
      } finally {
        closeFd(src);
      }
    } else if (isFile(stat)) {
      await copyFileAt(from, entry.name, to, entry.name);
    }
    // FIFOs, sockets and devices are skipped, as codex does.
  }
}

/**
 * Copies the regular file `name` in `fromDir` over `toName` in `toDir`,
 * atomically (see {@linkcode replaceAtomically}). A symlink at the
 * destination is replaced, not written through.
 */
export async function copyFileAt(
  fromDir: number,
  name: string,
  toDir: number,
  toName: string,
): Promise<void> {
  const src = openat(fromDir, name, C.O_RDONLY | C.O_NOFOLLOW | C.O_NONBLOCK);
  try {
    const stat = statAt(src);
    if (!isFile(stat)) throw new OsError(C.EINVAL, "Not a regular file");
    await replaceAtomically(toDir, toName, stat, (fd) => copyData(src, fd));
  } finally {
    closeFd(src);
  }
}

/** Copies an open regular file over `toName` in `toDir`, atomically. */
export async function copyOpenFile(src: number, toDir: number, toName: string): Promise<void> {
  const stat = statAt(src);
  await replaceAtomically(toDir, toName, stat, (fd) => copyData(src, fd));
}
