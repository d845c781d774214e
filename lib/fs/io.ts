// Copyright 2026 the exec-server authors. MIT license.
/**
 * Descriptor-level building blocks of the fs methods: reopening a resolved
 * node for I/O without a window, reading ranges, and replacing a file
 * atomically (a temporary file in the target's directory, renamed into place
 * once complete, so a failure leaves the old file as it was).
 *
 * @module
 */

import {
  C,
  closeFd,
  fchmod,
  fchown,
  isDir,
  isFile,
  openat,
  OsError,
  renameat,
  type Stat,
  statAt,
  uid,
  unlinkat,
} from "./libc.ts";
import { closeChecked, pread, pwriteAll, readSeq } from "./libc_io.ts";
import type { Location } from "./roots.ts";

/**
 * Thrown when a resolved node was replaced before it could be opened (it is
 * now a symlink, missing, or another inode). The caller resolves again.
 */
export class NodeChanged extends Error {
  constructor() {
    super("path changed while it was being opened");
    this.name = "NodeChanged";
  }
}

/** How often a call resolves again after {@linkcode NodeChanged}. */
export const MAX_ATTEMPTS = 8;

/**
 * Runs `fn` again (up to {@linkcode MAX_ATTEMPTS} times) while it throws
 * {@linkcode NodeChanged}; the last one becomes an OS-style error.
 */
export async function retryChanged<T>(fn: () => Promise<T>): Promise<T> {
  for (let attempt = 1;; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (!(err instanceof NodeChanged)) throw err;
      if (attempt >= MAX_ATTEMPTS) {
        throw new OsError(C.EAGAIN, "path kept changing while it was being opened");
      }
    }
  }
}

/**
 * Opens the existing node of `at` for I/O with `flags`. A directory is
 * reopened through its own descriptor (`openat(node, ".")`); anything else
 * through its parent with `O_NOFOLLOW`, and the result must be the same
 * inode that was resolved.
 *
 * @throws {NodeChanged} When the name now refers to something else.
 */
export function openNode(at: Location, flags: number): number {
  const stat = at.mustExist();
  if (isDir(stat)) return openat(at.node, ".", flags | C.O_DIRECTORY);
  let fd: number;
  try {
    fd = openat(at.parentDir, at.name, flags | C.O_NOFOLLOW);
  } catch (err) {
    if (err instanceof OsError && (err.errno === C.ELOOP || err.errno === C.ENOENT)) {
      throw new NodeChanged();
    }
    throw err;
  }
  try {
    if (statAt(fd).id !== stat.id) throw new NodeChanged();
  } catch (err) {
    closeFd(fd);
    throw err;
  }
  return fd;
}

/**
 * Reads up to `cap` bytes from `fd` at `offset` (regular files) or from the
 * current position (anything else), growing the buffer from `hint`. `end` is
 * true when the end of the file was reached.
 */
export async function readUpTo(
  fd: number,
  regular: boolean,
  offset: number,
  cap: number,
  hint: number,
): Promise<{ data: Uint8Array; end: boolean }> {
  let buffer = new Uint8Array(Math.min(cap, Math.max(hint, 1)));
  let filled = 0;
  while (filled < cap) {
    if (filled === buffer.length) {
      const grown = new Uint8Array(Math.min(cap, buffer.length * 2));
      grown.set(buffer);
      buffer = grown;
    }
    const room = buffer.subarray(filled);
    const n = regular ? await pread(fd, room, offset + filled) : await readSeq(fd, room);
    if (n === 0) return { data: buffer.subarray(0, filled), end: true };
    filled += n;
  }
  return { data: buffer.subarray(0, filled), end: false };
}

/** A fresh name for a temporary file next to its target. */
export function tempName(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  return `.exec-server-${bytes.toHex()}.tmp`;
}

/**
 * A new temporary file in `dir`, open for writing, with the mode (and, for
 * root, the owner) of `like` or the default mode of a new file.
 */
export function createTemp(dir: number, like: Stat | null): { fd: number; name: string } {
  for (;;) {
    const name = tempName();
    let fd: number;
    try {
      fd = openat(dir, name, C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW, 0o666);
    } catch (err) {
      if (err instanceof OsError && err.errno === C.EEXIST) continue;
      throw err;
    }
    try {
      if (like !== null) {
        if (uid() === 0) fchown(fd, like.uid, like.gid);
        fchmod(fd, like.mode & 0o7777);
      }
    } catch (err) {
      closeFd(fd);
      unlinkQuietly(dir, name);
      throw err;
    }
    return { fd, name };
  }
}

/** Removes `name` from `dir`, ignoring errors (cleanup after a failure). */
export function unlinkQuietly(dir: number, name: string): void {
  try {
    unlinkat(dir, name);
  } catch {
    // Already gone, or never created.
  }
}

/**
 * Replaces `name` in `dir` with a file whose contents `fill` writes: into a
 * temporary file first, renamed over `name` only once `fill` and `close`
 * succeeded. On any failure the temporary file is removed and `name` is left
 * as it was. The new file takes the mode of `existing` (the file it
 * replaces), or the default mode of a new file.
 */
export async function replaceAtomically(
  dir: number,
  name: string,
  existing: Stat | null,
  fill: (fd: number) => Promise<void>,
): Promise<void> {
  const temp = createTemp(dir, existing !== null && isFile(existing) ? existing : null);
  let open = true;
  try {
    await fill(temp.fd);
    open = false;
    closeChecked(temp.fd);
    renameat(dir, temp.name, dir, name);
  } catch (err) {
    if (open) closeFd(temp.fd);
    unlinkQuietly(dir, temp.name);
    throw err;
  }
}

/** Copies every byte of `from` (a regular file) into `to` from offset 0. */
export async function copyData(from: number, to: number): Promise<void> {
  const buffer = new Uint8Array(1024 * 1024);
  for (let at = 0;;) {
    const n = await pread(from, buffer, at);
    if (n === 0) return;
    await pwriteAll(to, buffer.subarray(0, n), at);
    at += n;
  }
}

/** Lets other work on the event loop run (a macrotask turn). */
export function yieldToLoop(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}
