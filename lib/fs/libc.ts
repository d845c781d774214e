// Copyright 2026 the exec-server authors. MIT license.
/**
 * The slice of Linux's C library the fs service calls through Deno's FFI:
 * descriptor-relative calls (`openat`, `openat2`, `statx`, `mkdirat`,
 * `unlinkat`, `renameat2`, `readlinkat`, `symlinkat`, `getdents64`), positional
 * I/O, and inotify, as wrappers that throw {@linkcode OsError} on top of the
 * server's one libc handle in `lib/ffi`. Deno's own fs API takes only paths,
 * and a path is checked by the kernel again at every call, which is what a
 * symlink swap exploits.
 *
 * Only Linux on x86_64 and aarch64 with glibc ≥ 2.30.
 *
 * Calls here are synchronous (a few microseconds each); descriptor I/O is in
 * `libc_io.ts`, where `pread`, `pwrite` and `poll` run on a worker thread. errno is thread-local and cannot
 * be read after a call on another thread, so a failed threaded `pread` or
 * `pwrite` is tried again there a few times (a signal interrupts it), and
 * only then repeated once on this thread to learn why (both are positional,
 * so repeating them is harmless). No call is repeated without bound: a
 * call still interrupted after {@linkcode MAX_ATTEMPTS} tries, or one that
 * would block (EAGAIN), fails with its error instead of spinning the one
 * thread every client shares.
 *
 * @module
 */

import {
  C,
  cString as ffiCString,
  errno,
  libc,
  libcUnavailableReason,
  strerror,
} from "../ffi/mod.ts";

export { C, errno, libc };

/**
 * A failed OS call. `message` is the OS's text in codex's form,
 * `"No such file or directory (os error 2)"`: it names no path, so it reveals
 * nothing about paths the caller did not write.
 */
export class OsError extends Error {
  /** The errno value. */
  readonly errno: number;

  /** Creates the error for `errno`; `text` defaults to strerror's. */
  constructor(errno: number, text?: string) {
    super(`${text ?? strerror(errno)} (os error ${errno})`);
    this.name = "OsError";
    this.errno = errno;
  }
}

/**
 * Why the descriptor-relative fs layer cannot run here, or null when it can:
 * it needs Linux, glibc and the `--allow-ffi` permission.
 */
export function fsUnavailableReason(): string | null {
  const reason = libcUnavailableReason();
  if (reason === null) return null;
  if (reason.includes("--allow-ffi")) {
    return "fs/* needs the --allow-ffi permission: paths are opened one component at a time " +
      "relative to their parent directory through openat(2), which Deno's fs API cannot do";
  }
  return `fs/* cannot run: ${reason}`;
}

const decoder = new TextDecoder();

/** `text` as a NUL-terminated C string; a NUL inside is EINVAL. */
export function cString(text: string): Uint8Array<ArrayBuffer> {
  return ffiCString(text, () => new OsError(C.EINVAL));
}

const EMPTY = cString("");

/** Most tries of one call that keeps failing with EINTR (or `again`) before its error is thrown. */
export const MAX_ATTEMPTS = 8;

/**
 * Runs a synchronous call, repeating it while it fails with one of `again`
 * (a signal interrupted it), at most {@linkcode MAX_ATTEMPTS} times in all;
 * returns its result, or throws the {@linkcode OsError} of the last failure.
 * `errnoOf` reads the error of the failed call.
 *
 * @example
 * ```ts
 * import { C, OsError, retrying } from "./libc.ts";
 * import assert from "node:assert/strict";
 * let calls = 0;
 * const interrupted = () => (calls++, -1);
 * assert.throws(() => retrying(interrupted, () => C.EINTR), OsError);
 * assert.equal(calls, 8, "bounded, not a spin");
 * assert.equal(retrying(() => calls++ < 10 ? -1 : 7, () => C.EINTR), 7);
 * ```
 */
export function retrying(
  call: () => number | bigint,
  errnoOf: () => number = errno,
  again: readonly number[] = [C.EINTR],
): number {
  for (let attempt = 1;; attempt++) {
    const n = Number(call());
    if (n >= 0) return n;
    const code = errnoOf();
    if (attempt >= MAX_ATTEMPTS || !again.includes(code)) throw new OsError(code);
  }
}

/** Retries a call interrupted by a signal, a few times. */
function retry(call: () => number | bigint): number {
  return retrying(call);
}

/** Closes a descriptor, ignoring errors (the descriptor is gone either way). */
export function closeFd(fd: number): void {
  libc().close(fd);
}

/** `openat(2)`: returns the new descriptor. `O_CLOEXEC` is always added. */
export function openat(dir: number, name: string, flags: number, mode = 0o666): number {
  const path = cString(name);
  return retry(() => libc().openat(dir, path, flags | C.O_CLOEXEC, mode));
}

let openat2State: "unknown" | "present" | "missing" = "unknown";

/**
 * `openat2(2)` with `resolve` flags, or null when the kernel lacks it (before
 * 5.6, or a seccomp filter that answers ENOSYS or EPERM; probed once).
 */
export function openat2(
  dir: number,
  path: string,
  flags: number,
  resolve: number,
): number | null {
  if (!hasOpenat2()) return null;
  // EAGAIN: a rename or mount raced the lookup; the caller falls back to
  // the component walk rather than retry for as long as the race goes on.
  let code = 0;
  return retrying(() => {
    const attempt = rawOpenat2(dir, path, flags, resolve);
    code = attempt.code;
    return attempt.fd;
  }, () => code);
}

function rawOpenat2(
  dir: number,
  path: string,
  flags: number,
  resolve: number,
): { fd: number; code: number } {
  const how = new BigUint64Array([BigInt(flags | C.O_CLOEXEC), 0n, BigInt(resolve)]);
  const name = cString(path);
  const fd = Number(
    libc().openat2(BigInt(C.SYS_OPENAT2), dir, name, new Uint8Array(how.buffer), 24n),
  );
  return { fd, code: fd < 0 ? errno() : 0 };
}

/** Whether the kernel has `openat2(2)` (probed on first use). */
export function hasOpenat2(): boolean {
  if (openat2State === "unknown") {
    const probe = rawOpenat2(C.AT_FDCWD, "/", C.O_PATH, 0);
    openat2State = probe.fd >= 0 ? "present" : "missing";
    if (probe.fd >= 0) closeFd(probe.fd);
  }
  return openat2State === "present";
}

/** What `statx(2)` says about one inode. */
export interface Stat {
  /** `S_IFMT` bits and permissions. */
  mode: number;
  /** Owner. */
  uid: number;
  /** Group. */
  gid: number;
  /** Size in bytes. */
  size: number;
  /** Device and inode, as one string: identity across calls. */
  id: string;
  /** Last modification, ms since the epoch. */
  mtimeMs: number;
  /** Creation, ms since the epoch; 0 when the filesystem does not record it. */
  birthtimeMs: number;
}

/** True for a directory. */
export function isDir(stat: Stat): boolean {
  return (stat.mode & C.S_IFMT) === C.S_IFDIR;
}

/** True for a regular file. */
export function isFile(stat: Stat): boolean {
  return (stat.mode & C.S_IFMT) === C.S_IFREG;
}

/** True for a symbolic link. */
export function isLink(stat: Stat): boolean {
  return (stat.mode & C.S_IFMT) === C.S_IFLNK;
}

const statBuffer = new Uint8Array(256);
const statView = new DataView(statBuffer.buffer);

/**
 * `statx(2)` of `name` in `dir` without following a final symlink, or of
 * `dir` itself when `name` is empty.
 */
export function statAt(dir: number, name = ""): Stat {
  const path = name === "" ? EMPTY : cString(name);
  const flags = C.AT_SYMLINK_NOFOLLOW | (name === "" ? C.AT_EMPTY_PATH : 0);
  retry(() => libc().statx(dir, path, flags, C.STATX_BASIC_STATS | C.STATX_BTIME, statBuffer));
  const v = statView;
  const time = (at: number) =>
    Number(v.getBigInt64(at, true)) * 1000 + Math.floor(v.getUint32(at + 8, true) / 1e6);
  const mask = v.getUint32(0, true);
  return {
    mode: v.getUint16(28, true),
    uid: v.getUint32(20, true),
    gid: v.getUint32(24, true),
    size: Number(v.getBigUint64(40, true)),
    id: `${v.getUint32(136, true)}:${v.getUint32(140, true)}:${v.getBigUint64(32, true)}`,
    mtimeMs: time(112),
    birthtimeMs: (mask & C.STATX_BTIME) !== 0 ? time(80) : 0,
  };
}

/** `mkdirat(2)`. */
export function mkdirat(dir: number, name: string, mode = 0o777): void {
  const path = cString(name);
  retry(() => libc().mkdirat(dir, path, mode));
}

/** `unlinkat(2)`; `directory` removes an empty directory. */
export function unlinkat(dir: number, name: string, directory = false): void {
  const path = cString(name);
  retry(() => libc().unlinkat(dir, path, directory ? C.AT_REMOVEDIR : 0));
}

/** `renameat2(2)`; `noReplace` fails with EEXIST instead of replacing. */
export function renameat(
  fromDir: number,
  from: string,
  toDir: number,
  to: string,
  noReplace = false,
): void {
  const a = cString(from);
  const b = cString(to);
  retry(() => libc().renameat2(fromDir, a, toDir, b, noReplace ? C.RENAME_NOREPLACE : 0));
}

const linkBuffer = new Uint8Array(4096);

/** `readlinkat(2)` of `name` in `dir`, or of `dir` itself (an `O_PATH` link) when empty. */
export function readlinkat(dir: number, name = ""): string {
  const path = name === "" ? EMPTY : cString(name);
  const n = retry(() => libc().readlinkat(dir, path, linkBuffer, BigInt(linkBuffer.length)));
  if (n >= linkBuffer.length) throw new OsError(C.ENOSPC, "Symbolic link target too long");
  return decoder.decode(linkBuffer.subarray(0, n));
}

/** `symlinkat(2)`: creates `name` in `dir` pointing at `target`. */
export function symlinkat(target: string, dir: number, name: string): void {
  const a = cString(target);
  const b = cString(name);
  retry(() => libc().symlinkat(a, dir, b));
}

/** `fchmod(2)`. */
export function fchmod(fd: number, mode: number): void {
  retry(() => libc().fchmod(fd, mode));
}

/** `fchown(2)`; returns false instead of throwing when not permitted. */
export function fchown(fd: number, uid: number, gid: number): boolean {
  const n = Number(libc().fchown(fd, uid, gid));
  if (n === 0) return true;
  const code = errno();
  if (code === C.EPERM) return false;
  throw new OsError(code);
}

/** `ftruncate(2)`. */
export function ftruncate(fd: number, length: number): void {
  retry(() => libc().ftruncate(fd, BigInt(length)));
}

/** One directory entry from `getdents64(2)`. */
export interface DirEntry {
  /** The name (UTF-8, lossy). */
  name: string;
  /** `DT_*` type; `DT_UNKNOWN` when the filesystem does not say. */
  type: number;
}

/**
 * Reads the next batch of entries of an open directory (`.` and `..`
 * skipped), or null at the end. `buffer` is reused between calls.
 */
export function readDirBatch(fd: number, buffer: Uint8Array<ArrayBuffer>): DirEntry[] | null {
  const n = retry(() => libc().getdents64(fd, buffer, BigInt(buffer.length)));
  if (n === 0) return null;
  const view = new DataView(buffer.buffer, buffer.byteOffset, n);
  const out: DirEntry[] = [];
  for (let at = 0; at < n;) {
    const reclen = view.getUint16(at + 16, true);
    const type = view.getUint8(at + 18);
    let end = at + 19;
    while (end < at + reclen && buffer[end] !== 0) end++;
    const name = decoder.decode(buffer.subarray(at + 19, end));
    if (name !== "." && name !== "..") out.push({ name, type });
    at += reclen;
  }
  return out;
}

/** The server's effective uid. */
export function uid(): number {
  return libc().getuid();
}
