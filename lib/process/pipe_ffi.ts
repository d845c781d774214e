// Copyright 2026 the exec-server authors. MIT license.
/**
 * Piped children over FFI: posix_spawn with `POSIX_SPAWN_SETSID` (the child
 * leads its own session and process group without an extra exec), stdout and
 * stderr on pipe2(2) pipes (close-on-exec; the server's ends nonblocking,
 * their buffers raised towards `/proc/sys/fs/pipe-max-size`), stdin on a pipe
 * or /dev/null, all read and written by the shared poll reactor, the exit
 * seen through a pidfd. `arg0` is set directly (no helper program).
 *
 * @module
 */
import { type Child, type ChildSink, type SpawnOptions, type StreamName } from "./child.ts";
import { C, cString, errno, type Libc, libc, osError } from "./ffi_libc.ts";
import { checkCwd } from "./cwd.ts";
import { findProgram } from "./program.ts";
import { newReactorChild, reactor } from "./reactor.ts";
import {
  envEntries,
  type FileAction,
  killAndReap,
  openPidfd,
  posixSpawn,
  setNonblocking,
} from "./spawn_ffi.ts";
import { containment } from "./tree.ts";
import { FfiChild } from "./ffi_child.ts";
import { sysfs } from "./sysfs.ts";

/** Capacity asked for the output pipes (the kernel default is 64 KiB). */
const PIPE_SIZE = 1024 * 1024;

let pipeSize: number | null = null;

/** 1 MiB, or less where `fs.pipe-max-size` is lower. */
function wantedPipeSize(): number {
  if (pipeSize !== null) return pipeSize;
  try {
    const max = Number(sysfs().read("/proc/sys/fs/pipe-max-size")?.trim());
    pipeSize = Number.isFinite(max) && max > 0 ? Math.min(PIPE_SIZE, max) : 0;
  } catch {
    pipeSize = 0;
  }
  return pipeSize;
}

const DEV_NULL = cString("/dev/null");

/**
 * Spawns a piped child over FFI. Rejects with the OS reason (see
 * {@linkcode posixSpawn}) when the program, the exec or the cwd fails.
 */
export function spawnPipedFfi(options: SpawnOptions, sink: ChildSink): Promise<Child> {
  try {
    return Promise.resolve(start(libc(), options, sink));
  } catch (error) {
    return Promise.reject(error);
  }
}

function openPipe(lib: Libc, opened: number[]): [read: number, write: number] {
  const fds = new Int32Array(2);
  if (lib.pipe2(fds, C.O_CLOEXEC) !== 0) throw osError(errno(), "pipe2");
  opened.push(fds[0]!, fds[1]!);
  return [fds[0]!, fds[1]!];
}

function start(lib: Libc, options: SpawnOptions, sink: ChildSink): Child {
  const argv0 = options.argv[0];
  if (argv0 === undefined) throw new TypeError("Cannot start a process: argv must not be empty");
  checkCwd(options.cwd);
  const program = findProgram(argv0, options.cwd, options.env);
  const opened: number[] = [];
  const tree = containment().newTree();
  let pid = -1;
  let pidfd = -1;
  try {
    const [outRead, outWrite] = openPipe(lib, opened);
    const [errRead, errWrite] = openPipe(lib, opened);
    const stdin = options.pipeStdin ? openPipe(lib, opened) : null;
    const size = wantedPipeSize();
    for (const fd of [outRead, errRead]) {
      // Fewer, larger reads; refused (EPERM) past a user's pipe quota: keep the default.
      if (size > 0) lib.fcntl(fd, C.F_SETPIPE_SZ, size);
      setNonblocking(lib, fd);
    }
    if (stdin) setNonblocking(lib, stdin[1]);
    const fileActions: FileAction[] = [
      stdin ? { dup2: stdin[0], to: 0 } : { open: 0, path: DEV_NULL, flags: C.O_RDONLY },
      { dup2: outWrite, to: 1 },
      { dup2: errWrite, to: 2 },
    ];
    // pid is set inside too: if the tree fails after the spawn, it is reaped below.
    pid = tree.spawn(() =>
      pid = posixSpawn(lib, {
        program,
        argv: [options.arg0 ?? argv0, ...options.argv.slice(1)],
        env: envEntries(options.env),
        cwd: cString(options.cwd),
        fileActions,
        what: argv0,
      })
    );
    // The child's ends live on in the child only.
    for (const fd of [outWrite, errWrite, ...(stdin ? [stdin[0]] : [])]) {
      lib.close(fd);
      opened.splice(opened.indexOf(fd), 1);
    }
    pidfd = openPidfd(lib, pid);
    const state = newReactorChild({
      pid,
      pidfd,
      sink,
      pty: false,
      outputs: [{ stream: "stdout", fd: outRead }, { stream: "stderr", fd: errRead }],
      input: stdin ? stdin[1] : null,
      killTree: () => tree.kill(),
      beforeReap: () => tree.noteLeaderExit(),
    });
    reactor(lib).add(state);
    return new FfiPipeChild(lib, state, tree);
  } catch (error) {
    if (pid > 0) killAndReap(lib, pid);
    tree.release();
    if (pidfd >= 0) lib.close(pidfd);
    for (const fd of opened) lib.close(fd);
    throw error;
  }
}

class FfiPipeChild extends FfiChild {
  readonly streams: readonly StreamName[] = ["stdout", "stderr"];

  write(data: Uint8Array): Promise<void> {
    return reactor(this.lib).write(this.state, data);
  }

  closeStdin(): Promise<void> {
    return reactor(this.lib).closeInput(this.state);
  }

  resize(): void {
    throw new TypeError("Cannot resize: the process is not running on a terminal");
  }
}
