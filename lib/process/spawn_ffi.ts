// Copyright 2026 the exec-server authors. MIT license.
/**
 * posix_spawn(3) over FFI, shared by terminals (`pty.ts`) and pipes
 * (`pipe_ffi.ts`): the child is the leader of a new session and process group
 * (`POSIX_SPAWN_SETSID`, no extra exec), with default signal handlers and an
 * empty signal mask, its working directory set by `addchdir_np`, and its
 * descriptors 0–2 set up by file actions. Every other descriptor of the
 * server is close-on-exec.
 *
 * glibc's posix_spawn runs the file actions and the exec in the child and
 * reports their failure as its return value (the child never runs), so a
 * missing program, a refused exec, a bad interpreter or a bad working
 * directory fails the call with the precise errno.
 *
 * @module
 */
import { C, cString, cStringArray, errno, type Libc, osError } from "./ffi_libc.ts";

/** One step the child takes on its descriptors before the exec. */
export type FileAction =
  | { open: number; path: Uint8Array; flags: number }
  | { dup2: number; to: number };

/** What to exec. */
export interface SpawnPlan {
  /** The file to exec (absolute, as found by `findProgram`). */
  program: string;
  /** The argv the program sees, `argv[0]` included. */
  argv: readonly string[];
  /** `KEY=value` entries: the child's whole environment. */
  env: readonly string[];
  /** The working directory, as a C string. */
  cwd: Uint8Array;
  /** Descriptor set-up, in order. */
  fileActions: readonly FileAction[];
  /** Names the program in errors (the argv[0] the client sent). */
  what: string;
}

/**
 * Spawns `plan` and returns the child's pid.
 *
 * @throws {Error} the OS reason, as {@linkcode osError} builds it: for example
 * `Deno.errors.NotFound` "No such file or directory (os error 2): prog",
 * `Deno.errors.PermissionDenied` for EACCES, or "Exec format error (os error 8)".
 */
export function posixSpawn(lib: Libc, plan: SpawnPlan): number {
  // glibc's posix_spawnattr_t is 336 bytes, posix_spawn_file_actions_t 80 and
  // sigset_t 128; the buffers leave room and are 8-byte aligned.
  const attr = new BigUint64Array(64);
  const actions = new BigUint64Array(32);
  const allSignals = new BigUint64Array(16);
  const noSignals = new BigUint64Array(16);
  const program = cString(plan.program);
  const argv = cStringArray(plan.argv);
  const envp = cStringArray(plan.env);
  const pid = new Int32Array(1);
  check(lib.posix_spawnattr_init(attr), "posix_spawnattr_init");
  try {
    check(lib.posix_spawn_file_actions_init(actions), "file_actions_init");
    try {
      lib.sigfillset(allSignals);
      lib.sigemptyset(noSignals);
      const flags = C.POSIX_SPAWN_SETSID | C.POSIX_SPAWN_SETSIGDEF | C.POSIX_SPAWN_SETSIGMASK;
      check(lib.posix_spawnattr_setflags(attr, flags), "setflags");
      check(lib.posix_spawnattr_setsigdefault(attr, allSignals), "sigdefault");
      check(lib.posix_spawnattr_setsigmask(attr, noSignals), "sigmask");
      // setsid runs before the file actions: a terminal opened here becomes
      // the new session's controlling terminal.
      for (const action of plan.fileActions) {
        if ("open" in action) {
          check(
            lib.posix_spawn_file_actions_addopen(
              actions,
              action.open,
              action.path,
              action.flags,
              0,
            ),
            "addopen",
          );
        } else {
          check(lib.posix_spawn_file_actions_adddup2(actions, action.dup2, action.to), "adddup2");
        }
      }
      check(lib.posix_spawn_file_actions_addchdir_np(actions, plan.cwd), "addchdir_np");
      // posix_spawn returns once the child has exec'd (CLONE_VFORK): its
      // descriptors are in place before the reactor polls the parent's ends.
      const rc = lib.posix_spawn(pid, program, actions, attr, argv.pointers, envp.pointers);
      if (rc !== 0) throw osError(rc, plan.what);
    } finally {
      lib.posix_spawn_file_actions_destroy(actions);
    }
  } finally {
    lib.posix_spawnattr_destroy(attr);
  }
  // The string buffers must outlive the call; touch them so nothing frees
  // them early.
  void [argv.strings, envp.strings, program, plan.cwd, plan.fileActions];
  return pid[0] ?? -1;
}

function check(rc: number, what: string): void {
  if (rc !== 0) throw osError(rc, `posix_spawn setup (${what})`);
}

/** Opens a pidfd for `pid` (readable once the child exits). */
export function openPidfd(lib: Libc, pid: number): number {
  const fd = lib.pidfd_open !== null
    ? lib.pidfd_open(pid, 0)
    : Number(lib.syscall(BigInt(C.SYS_PIDFD_OPEN), BigInt(pid), 0n));
  if (fd < 0) throw osError(errno(), `pidfd_open ${pid}`);
  return fd;
}

/** Kills and reaps a child whose set-up failed after the spawn. */
export function killAndReap(lib: Libc, pid: number): void {
  lib.kill(-pid, 9);
  lib.kill(pid, 9);
  lib.waitpid(pid, new Int32Array(1), 0);
}

/** Sets O_NONBLOCK on `fd`. */
export function setNonblocking(lib: Libc, fd: number): void {
  const flags = lib.fcntl(fd, C.F_GETFL, 0);
  if (flags < 0 || lib.fcntl(fd, C.F_SETFL, flags | C.O_NONBLOCK) < 0) {
    throw osError(errno(), "fcntl O_NONBLOCK");
  }
}

/** `KEY=value` entries of an environment object. */
export function envEntries(env: Readonly<Record<string, string>>): string[] {
  return Object.entries(env).map(([k, v]) => `${k}=${v}`);
}
