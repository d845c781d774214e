// Copyright 2026 the exec-server authors. MIT license.
/**
 * The slice of glibc that the FFI backends (terminals in `pty.ts`, pipes in
 * `pipe_ffi.ts`, containment in `tree.ts`) call through Deno's FFI, plus the
 * Linux constants and helpers they need.
 *
 * Only Linux on x86_64 and aarch64 with glibc is supported: both use the
 * generic Linux values for every constant below.
 *
 * @module
 */
import { messageOf } from "../util/mod.ts";

/** The FFI declarations of every libc function the FFI backends use. */
export const LIBC_SYMBOLS = {
  posix_openpt: { parameters: ["i32"], result: "i32" },
  grantpt: { parameters: ["i32"], result: "i32" },
  unlockpt: { parameters: ["i32"], result: "i32" },
  ptsname_r: { parameters: ["i32", "buffer", "usize"], result: "i32" },
  // ioctl, fcntl and open are variadic; on the supported ABIs integer and
  // pointer varargs are passed like fixed arguments.
  ioctl: { parameters: ["i32", "u64", "buffer"], result: "i32" },
  fcntl: { parameters: ["i32", "i32", "i32"], result: "i32" },
  open: { parameters: ["buffer", "i32", "u32"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
  read: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  write: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  access: { parameters: ["buffer", "i32"], result: "i32" },
  mkdir: { parameters: ["buffer", "u32"], result: "i32" },
  rmdir: { parameters: ["buffer"], result: "i32" },
  opendir: { parameters: ["buffer"], result: "pointer" },
  readdir64: { parameters: ["pointer"], result: "pointer" },
  closedir: { parameters: ["pointer"], result: "i32" },
  poll: {
    parameters: ["buffer", "u64", "i32"],
    result: "i32",
    nonblocking: true,
  },
  eventfd: { parameters: ["u32", "i32"], result: "i32" },
  pipe2: { parameters: ["buffer", "i32"], result: "i32" },
  // prctl is variadic; integer varargs pass like fixed arguments.
  prctl: { parameters: ["i32", "u64", "u64", "u64", "u64"], result: "i32" },
  pidfd_open: { parameters: ["i32", "u32"], result: "i32", optional: true },
  syscall: { parameters: ["i64", "i64", "i64"], result: "i64" },
  waitpid: { parameters: ["i32", "buffer", "i32"], result: "i32" },
  kill: { parameters: ["i32", "i32"], result: "i32" },
  tcgetattr: { parameters: ["i32", "buffer"], result: "i32" },
  strerror: { parameters: ["i32"], result: "pointer" },
  __errno_location: { parameters: [], result: "pointer" },
  sigfillset: { parameters: ["buffer"], result: "i32" },
  sigemptyset: { parameters: ["buffer"], result: "i32" },
  posix_spawn: {
    parameters: ["buffer", "buffer", "buffer", "buffer", "buffer", "buffer"],
    result: "i32",
  },
  posix_spawnattr_init: { parameters: ["buffer"], result: "i32" },
  posix_spawnattr_destroy: { parameters: ["buffer"], result: "i32" },
  posix_spawnattr_setflags: { parameters: ["buffer", "i16"], result: "i32" },
  posix_spawnattr_setsigdefault: {
    parameters: ["buffer", "buffer"],
    result: "i32",
  },
  posix_spawnattr_setsigmask: {
    parameters: ["buffer", "buffer"],
    result: "i32",
  },
  posix_spawn_file_actions_init: { parameters: ["buffer"], result: "i32" },
  posix_spawn_file_actions_destroy: { parameters: ["buffer"], result: "i32" },
  posix_spawn_file_actions_addopen: {
    parameters: ["buffer", "i32", "buffer", "i32", "u32"],
    result: "i32",
  },
  posix_spawn_file_actions_adddup2: {
    parameters: ["buffer", "i32", "i32"],
    result: "i32",
  },
  posix_spawn_file_actions_addchdir_np: {
    parameters: ["buffer", "buffer"],
    result: "i32",
  },
} as const satisfies Deno.ForeignLibraryInterface;

/** The loaded libc symbols. */
export type Libc = Deno.DynamicLibrary<typeof LIBC_SYMBOLS>["symbols"];

/** Linux constants (identical on x86_64 and aarch64). */
export const C = {
  O_PATH: 0o10000000,
  O_RDONLY: 0,
  O_WRONLY: 1,
  O_RDWR: 2,
  O_NOCTTY: 0o400,
  O_NONBLOCK: 0o4000,
  O_CLOEXEC: 0o2000000,
  /** `O_DIRECTORY` is one of the few flags whose value differs by arch. */
  O_DIRECTORY: Deno.build.arch === "aarch64" ? 0o40000 : 0o200000,
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
  SYS_PIDFD_OPEN: 434,
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
  ECHILD: 10,
  EAGAIN: 11,
  EACCES: 13,
  EBUSY: 16,
  EEXIST: 17,
  ENOTDIR: 20,
  EPIPE: 32,
} as const;

// deno-fmt-ignore
const SIGNAL_LIST = [
  "SIGHUP", "SIGINT", "SIGQUIT", "SIGILL", "SIGTRAP", "SIGABRT", "SIGBUS",
  "SIGFPE", "SIGKILL", "SIGUSR1", "SIGSEGV", "SIGUSR2", "SIGPIPE", "SIGALRM",
  "SIGTERM", "SIGSTKFLT", "SIGCHLD", "SIGCONT", "SIGSTOP", "SIGTSTP",
  "SIGTTIN", "SIGTTOU", "SIGURG", "SIGXCPU", "SIGXFSZ", "SIGVTALRM",
  "SIGPROF", "SIGWINCH", "SIGIO", "SIGPWR", "SIGSYS",
] as const;

/** Signal numbers by name (generic Linux numbering: x86_64 and aarch64). */
export const SIGNAL_NUMBERS: ReadonlyMap<string, number> = new Map(
  SIGNAL_LIST.map((name, i) => [name, i + 1]),
);

/** The name of signal `num`, e.g. `"SIGTERM"`, or `"SIG<num>"` if unnamed. */
export function signalName(num: number): string {
  return SIGNAL_LIST[num - 1] ?? `SIG${num}`;
}

let loaded: { lib: Libc; errno: Deno.UnsafePointerView } | null = null;
let loadError: string | null = null;

/**
 * Opens libc.so.6 once and returns its symbols, or throws an Error that says
 * why the library cannot be used.
 */
export function libc(): Libc {
  return load().lib;
}

function load(): { lib: Libc; errno: Deno.UnsafePointerView } {
  if (loaded !== null) return loaded;
  if (loadError !== null) throw new Error(loadError);
  try {
    const lib = Deno.dlopen("libc.so.6", LIBC_SYMBOLS).symbols;
    // errno is thread-local; every synchronous FFI call runs on the JS
    // thread, so the address of its errno never changes.
    const where = lib.__errno_location();
    if (where === null) throw new Error("__errno_location returned null");
    loaded = { lib, errno: new Deno.UnsafePointerView(where) };
    return loaded;
  } catch (error) {
    const detail = messageOf(error);
    loadError = `Cannot load libc.so.6 (glibc is required): ${detail}`;
    throw new Error(loadError);
  }
}

/** The calling (JS) thread's errno; read it right after the failed call. */
export function errno(): number {
  return load().errno.getInt32();
}

/** glibc's text for an errno value, e.g. "No such file or directory". */
function strerror(code: number): string {
  const text = load().lib.strerror(code);
  return text === null ? `Unknown error ${code}` : Deno.UnsafePointerView.getCString(text);
}

/**
 * Builds the error for a failed OS call: `"<reason> (os error N): <subject>"`,
 * as a `Deno.errors` class where one fits so callers can tell them apart.
 */
export function osError(code: number, subject: string): Error {
  const message = `${strerror(code)} (os error ${code}): ${subject}`;
  switch (code) {
    case C.ENOENT:
      return new Deno.errors.NotFound(message);
    case C.EACCES:
    case C.EPERM:
      return new Deno.errors.PermissionDenied(message);
    case C.ENOTDIR:
      return new Deno.errors.NotADirectory(message);
    case C.EEXIST:
      return new Deno.errors.AlreadyExists(message);
    case C.EBUSY:
      return new Deno.errors.Busy(message);
    default:
      return new Error(message);
  }
}

const encoder = new TextEncoder();

/** Encodes `text` as a NUL-terminated C string. */
export function cString(text: string): Uint8Array<ArrayBuffer> {
  const bytes = encoder.encode(text);
  if (bytes.includes(0)) {
    throw new TypeError(
      `Cannot pass a string to the OS: it contains a NUL byte, received ${JSON.stringify(text)}`,
    );
  }
  const out = new Uint8Array(bytes.length + 1);
  out.set(bytes);
  return out;
}

/**
 * Packs strings into one buffer and returns it with a NULL-terminated array
 * of pointers into it (a C `char *const[]`). Keep both referenced until the
 * call that uses them returns.
 */
export function cStringArray(
  items: readonly string[],
): { strings: Uint8Array<ArrayBuffer>; pointers: BigUint64Array<ArrayBuffer> } {
  const parts = items.map(cString);
  const strings = new Uint8Array(
    Math.max(1, parts.reduce((sum, part) => sum + part.length, 0)),
  );
  const pointers = new BigUint64Array(parts.length + 1);
  const base = Deno.UnsafePointer.value(Deno.UnsafePointer.of(strings));
  let offset = 0;
  parts.forEach((part, i) => {
    strings.set(part, offset);
    pointers[i] = BigInt(base) + BigInt(offset);
    offset += part.length;
  });
  return { strings, pointers };
}

// Load eagerly when allowed: the library then exists before any test starts,
// so Deno's resource sanitizer does not blame the first test that spawns a
// terminal. It is never closed (children keep using it).
if (
  Deno.build.os === "linux" &&
  Deno.permissions.querySync({ name: "ffi" }).state === "granted"
) {
  try {
    load();
  } catch {
    // Reported by libc() when a terminal is requested.
  }
}
