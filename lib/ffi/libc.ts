// Copyright 2026 the exec-server authors. MIT license.
/**
 * The one handle on Linux's C library: the FFI declarations of every libc
 * function the server calls (files in `lib/fs`, terminals, pipes, spawning
 * and containment in `lib/process`), the Linux constants they take, and the
 * helpers every caller needs: errno, strerror and C strings. libc.so.6 is
 * opened once, for both parts.
 *
 * Only Linux on x86_64 and aarch64 with glibc is supported: both use the
 * generic Linux values below, except the few `O_` flags that differ by arch.
 *
 * errno is thread-local. Every synchronous call runs on the JS thread, so
 * {@linkcode errno} reads that thread's; a call declared `nonblocking` runs
 * on a worker thread, and its errno cannot be read afterwards.
 *
 * @module
 */

const ARM = Deno.build.arch === "aarch64";

/** Linux constants (the generic table; the arch-specific ones are picked at load). */
export const C = {
  AT_FDCWD: -100,
  O_RDONLY: 0,
  O_WRONLY: 1,
  O_RDWR: 2,
  O_CREAT: 0o100,
  O_EXCL: 0o200,
  O_NOCTTY: 0o400,
  O_TRUNC: 0o1000,
  O_APPEND: 0o2000,
  O_NONBLOCK: 0o4000,
  O_DIRECTORY: ARM ? 0o40000 : 0o200000,
  O_NOFOLLOW: ARM ? 0o100000 : 0o400000,
  O_CLOEXEC: 0o2000000,
  O_PATH: 0o10000000,
  AT_SYMLINK_NOFOLLOW: 0x100,
  AT_REMOVEDIR: 0x200,
  AT_EMPTY_PATH: 0x1000,
  RENAME_NOREPLACE: 1,
  RESOLVE_NO_XDEV: 0x01,
  RESOLVE_NO_MAGICLINKS: 0x02,
  RESOLVE_NO_SYMLINKS: 0x04,
  RESOLVE_BENEATH: 0x08,
  SYS_OPENAT2: 437,
  SYS_PIDFD_OPEN: 434,
  STATX_BASIC_STATS: 0x7ff,
  STATX_BTIME: 0x800,
  S_IFMT: 0o170000,
  S_IFDIR: 0o040000,
  S_IFREG: 0o100000,
  S_IFLNK: 0o120000,
  DT_UNKNOWN: 0,
  DT_DIR: 4,
  DT_REG: 8,
  DT_LNK: 10,
  IN_NONBLOCK: 0o4000,
  IN_CLOEXEC: 0o2000000,
  EFD_CLOEXEC: 0o2000000,
  EFD_NONBLOCK: 0o4000,
  F_GETFL: 3,
  F_SETFL: 4,
  F_SETPIPE_SZ: 1031,
  F_GETPIPE_SZ: 1032,
  PR_SET_CHILD_SUBREAPER: 36,
  X_OK: 1,
  TIOCSWINSZ: 0x5414,
  POLLIN: 0x1,
  POLLOUT: 0x4,
  POLLERR: 0x8,
  POLLHUP: 0x10,
  POLLNVAL: 0x20,
  WNOHANG: 1,
  POSIX_SPAWN_SETSIGDEF: 0x04,
  POSIX_SPAWN_SETSIGMASK: 0x08,
  POSIX_SPAWN_SETSID: 0x80,
  ICANON: 0o2,
  VEOF: 4,
  /** Offset of `c_lflag` and of `c_cc` in glibc's `struct termios`. */
  TERMIOS_LFLAG: 12,
  TERMIOS_CC: 17,
  EPERM: 1,
  ENOENT: 2,
  ESRCH: 3,
  EINTR: 4,
  EIO: 5,
  E2BIG: 7,
  EBADF: 9,
  ECHILD: 10,
  EAGAIN: 11,
  EACCES: 13,
  EBUSY: 16,
  EEXIST: 17,
  EXDEV: 18,
  ENOTDIR: 20,
  EISDIR: 21,
  EINVAL: 22,
  EMFILE: 24,
  ENOSPC: 28,
  EPIPE: 32,
  ENOSYS: 38,
  ENOTEMPTY: 39,
  ELOOP: 40,
} as const;

/** The FFI declarations of every libc function the server uses. */
export const LIBC_SYMBOLS = {
  // Descriptor-relative file calls (lib/fs).
  openat: { parameters: ["i32", "buffer", "i32", "u32"], result: "i32" },
  openat2: {
    name: "syscall",
    parameters: ["i64", "i32", "buffer", "buffer", "usize"],
    result: "i64",
  },
  statx: { parameters: ["i32", "buffer", "i32", "u32", "buffer"], result: "i32" },
  mkdirat: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  unlinkat: { parameters: ["i32", "buffer", "i32"], result: "i32" },
  renameat2: { parameters: ["i32", "buffer", "i32", "buffer", "u32"], result: "i32" },
  readlinkat: { parameters: ["i32", "buffer", "buffer", "usize"], result: "isize" },
  symlinkat: { parameters: ["buffer", "i32", "buffer"], result: "i32" },
  getdents64: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  fchmod: { parameters: ["i32", "u32"], result: "i32" },
  fchown: { parameters: ["i32", "u32", "u32"], result: "i32" },
  ftruncate: { parameters: ["i32", "i64"], result: "i32" },
  getuid: { parameters: [], result: "u32" },
  inotify_init1: { parameters: ["i32"], result: "i32" },
  inotify_add_watch: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  inotify_rm_watch: { parameters: ["i32", "i32"], result: "i32" },
  // I/O, on this thread and on a worker thread.
  close: { parameters: ["i32"], result: "i32" },
  read: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  write: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  pread: { parameters: ["i32", "buffer", "usize", "i64"], result: "isize" },
  pwrite: { parameters: ["i32", "buffer", "usize", "i64"], result: "isize" },
  readThreaded: {
    name: "read",
    parameters: ["i32", "buffer", "usize"],
    result: "isize",
    nonblocking: true,
  },
  writeThreaded: {
    name: "write",
    parameters: ["i32", "buffer", "usize"],
    result: "isize",
    nonblocking: true,
  },
  preadThreaded: {
    name: "pread",
    parameters: ["i32", "buffer", "usize", "i64"],
    result: "isize",
    nonblocking: true,
  },
  pwriteThreaded: {
    name: "pwrite",
    parameters: ["i32", "buffer", "usize", "i64"],
    result: "isize",
    nonblocking: true,
  },
  poll: { parameters: ["buffer", "u64", "i32"], result: "i32", nonblocking: true },
  eventfd: { parameters: ["u32", "i32"], result: "i32" },
  pipe2: { parameters: ["buffer", "i32"], result: "i32" },
  // Terminals, processes and containment (lib/process). ioctl, fcntl, open
  // and prctl are variadic; on the supported ABIs integer and pointer varargs
  // are passed like fixed arguments.
  posix_openpt: { parameters: ["i32"], result: "i32" },
  grantpt: { parameters: ["i32"], result: "i32" },
  unlockpt: { parameters: ["i32"], result: "i32" },
  ptsname_r: { parameters: ["i32", "buffer", "usize"], result: "i32" },
  ioctl: { parameters: ["i32", "u64", "buffer"], result: "i32" },
  fcntl: { parameters: ["i32", "i32", "i32"], result: "i32" },
  open: { parameters: ["buffer", "i32", "u32"], result: "i32" },
  access: { parameters: ["buffer", "i32"], result: "i32" },
  mkdir: { parameters: ["buffer", "u32"], result: "i32" },
  rmdir: { parameters: ["buffer"], result: "i32" },
  opendir: { parameters: ["buffer"], result: "pointer" },
  readdir64: { parameters: ["pointer"], result: "pointer" },
  closedir: { parameters: ["pointer"], result: "i32" },
  prctl: { parameters: ["i32", "u64", "u64", "u64", "u64"], result: "i32" },
  pidfd_open: { parameters: ["i32", "u32"], result: "i32", optional: true },
  syscall: { parameters: ["i64", "i64", "i64"], result: "i64" },
  waitpid: { parameters: ["i32", "buffer", "i32"], result: "i32" },
  kill: { parameters: ["i32", "i32"], result: "i32" },
  tcgetattr: { parameters: ["i32", "buffer"], result: "i32" },
  sigfillset: { parameters: ["buffer"], result: "i32" },
  sigemptyset: { parameters: ["buffer"], result: "i32" },
  posix_spawn: {
    parameters: ["buffer", "buffer", "buffer", "buffer", "buffer", "buffer"],
    result: "i32",
  },
  posix_spawnattr_init: { parameters: ["buffer"], result: "i32" },
  posix_spawnattr_destroy: { parameters: ["buffer"], result: "i32" },
  posix_spawnattr_setflags: { parameters: ["buffer", "i16"], result: "i32" },
  posix_spawnattr_setsigdefault: { parameters: ["buffer", "buffer"], result: "i32" },
  posix_spawnattr_setsigmask: { parameters: ["buffer", "buffer"], result: "i32" },
  posix_spawn_file_actions_init: { parameters: ["buffer"], result: "i32" },
  posix_spawn_file_actions_destroy: { parameters: ["buffer"], result: "i32" },
  posix_spawn_file_actions_addopen: {
    parameters: ["buffer", "i32", "buffer", "i32", "u32"],
    result: "i32",
  },
  posix_spawn_file_actions_adddup2: { parameters: ["buffer", "i32", "i32"], result: "i32" },
  posix_spawn_file_actions_addchdir_np: { parameters: ["buffer", "buffer"], result: "i32" },
  // errno and its text.
  strerror: { parameters: ["i32"], result: "pointer" },
  __errno_location: { parameters: [], result: "pointer" },
} as const satisfies Deno.ForeignLibraryInterface;

/** The loaded libc symbols. */
export type Libc = Deno.DynamicLibrary<typeof LIBC_SYMBOLS>["symbols"];

let loaded: { lib: Libc; errno: Deno.UnsafePointerView } | null = null;
let loadError: string | null = null;

/**
 * Why libc cannot be called here, or null when it can: it needs Linux and
 * the `--allow-ffi` permission, and libc.so.6 must load (glibc).
 *
 * @example
 * ```ts
 * import { libcUnavailableReason } from "./libc.ts";
 * import assert from "node:assert/strict";
 * const reason = libcUnavailableReason();
 * assert.ok(reason === null || reason.length > 0);
 * ```
 */
export function libcUnavailableReason(): string | null {
  if (loaded !== null) return null;
  if (loadError !== null) return loadError;
  if (Deno.build.os !== "linux") return `libc calls need Linux; this is ${Deno.build.os}`;
  if (Deno.permissions.querySync({ name: "ffi" }).state !== "granted") {
    return "libc calls need the --allow-ffi permission";
  }
  try {
    const lib = Deno.dlopen("libc.so.6", LIBC_SYMBOLS).symbols;
    const where = lib.__errno_location();
    if (where === null) throw new Error("__errno_location returned null");
    loaded = { lib, errno: new Deno.UnsafePointerView(where) };
    return null;
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    loadError = `Cannot load libc.so.6 (glibc is required): ${detail}`;
    return loadError;
  }
}

/**
 * The loaded library (opened on the first call).
 *
 * @throws {Error} Saying why, when {@linkcode libcUnavailableReason} does.
 */
export function libc(): Libc {
  if (loaded !== null) return loaded.lib;
  const reason = libcUnavailableReason();
  if (reason !== null) throw new Error(reason);
  return loaded!.lib;
}

/** The JS thread's errno; read it right after the failed synchronous call. */
export function errno(): number {
  libc();
  return loaded!.errno.getInt32();
}

/** glibc's text for an errno value, e.g. "No such file or directory". */
export function strerror(code: number): string {
  const text = libcUnavailableReason() === null ? loaded!.lib.strerror(code) : null;
  return text === null ? `Unknown error ${code}` : Deno.UnsafePointerView.getCString(text);
}

const encoder = new TextEncoder();

/**
 * `text` as a NUL-terminated C string. A NUL inside cannot be passed:
 * `onNul` builds the error thrown then.
 *
 * @example
 * ```ts
 * import { cString } from "./libc.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual([...cString("ab")], [97, 98, 0]);
 * assert.throws(() => cString("a\0b"), TypeError);
 * ```
 */
export function cString(
  text: string,
  onNul: (text: string) => Error = (t) =>
    new TypeError(
      `Cannot pass a string to the OS: it contains a NUL byte, received ${JSON.stringify(t)}`,
    ),
): Uint8Array<ArrayBuffer> {
  const bytes = encoder.encode(text);
  if (bytes.includes(0)) throw onNul(text);
  const out = new Uint8Array(bytes.length + 1);
  out.set(bytes);
  return out;
}

// Load at import when allowed: the library then exists before any test
// starts, so Deno's resource sanitizer does not blame the first test that
// touches a file or spawns a terminal. It is never closed (children and
// descriptors keep using it).
if (Deno.build.os === "linux" && Deno.permissions.querySync({ name: "ffi" }).state === "granted") {
  libcUnavailableReason();
}
