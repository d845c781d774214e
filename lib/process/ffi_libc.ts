// Copyright 2026 the exec-server authors. MIT license.
/**
 * The process part's slice of libc: the shared library handle, constants,
 * errno and C strings of `lib/ffi` (one dlopen for the whole server), plus
 * what only the FFI backends (terminals in `pty.ts`, pipes in
 * `pipe_ffi.ts`, containment in `tree.ts`) need: signal numbers, errors in
 * `Deno.errors` classes, and C string arrays.
 *
 * @module
 */
import { C, cString, strerror } from "../ffi/mod.ts";

export { C, cString, errno, type Libc, libc } from "../ffi/mod.ts";

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

/**
 * Packs strings into one buffer and returns it with a NULL-terminated array
 * of pointers into it (a C `char *const[]`). Keep both referenced until the
 * call that uses them returns.
 */
export function cStringArray(
  items: readonly string[],
): { strings: Uint8Array<ArrayBuffer>; pointers: BigUint64Array<ArrayBuffer> } {
  const parts = items.map((item) => cString(item));
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
