// Copyright 2026 the exec-server authors. MIT license.
/**
 * Starts non-terminal children with `Deno.Command`, the backend for servers
 * without `--allow-ffi` (`pipe_ffi.ts` is the other): its own process group
 * (setsid), stdout and stderr piped and streamed with backpressure, stdin
 * piped or null.
 *
 * @module
 */
import { FRAME_HEADROOM, markHeadroom } from "../protocol/binary_frame.ts";
import {
  type Child,
  type ChildSink,
  type SpawnOptions,
  StdinClosedError,
  type StreamName,
} from "./child.ts";
import { checkCwd } from "./cwd.ts";
import { EXEC_WITH_ARG0, findProgram, PERL } from "./program.ts";
import { containment } from "./tree.ts";

function isNoSuchProcess(err: unknown): boolean {
  return err instanceof Deno.errors.NotFound || /ESRCH|No such process/i.test(String(err));
}

/**
 * util-linux `setsid`, when installed and permitted. `Deno.Command`'s
 * `detached: true` calls setsid(2) in a pre-exec hook, which forces a full
 * fork() of the server: it blocks the event loop for 2–7 ms, growing with the
 * server's memory (measured with 60–170 MB servers). Without pre-exec hooks
 * Deno uses posix_spawn (about 0.25 ms), and the `setsid` program puts the
 * command in its own session and process group and execs it in place (same
 * pid: a child that is not a group leader never forks).
 */
const SETSID: string | null = findSetsid();

function findSetsid(): string | null {
  if (Deno.build.os !== "linux") return null;
  for (const path of ["/usr/bin/setsid", "/bin/setsid"]) {
    try {
      const info = Deno.statSync(path);
      if (!info.isFile || ((info.mode ?? 0) & 0o111) === 0) continue;
      if (Deno.permissions.querySync({ name: "run", command: path }).state !== "granted") {
        return null;
      }
      return path;
    } catch {
      // not here
    }
  }
  return null;
}

/** The perl interpreter, or a clear error when the server has none. */
function perl(): string {
  try {
    Deno.statSync(PERL);
  } catch {
    throw new Error(`arg0 needs ${PERL} on the server, which is missing`);
  }
  return PERL;
}

/** Bytes asked for per read: a Linux pipe holds 64 KiB by default. */
const READ_SIZE = 64 * 1024;
/** Reads shorter than this are copied out and the read buffer reused. */
const COPY_BELOW = 16 * 1024;

/**
 * Reads `stream` into buffers that keep {@linkcode FRAME_HEADROOM} free bytes
 * in front of the data, so a binary output frame is built around the chunk
 * without copying it. A short read is copied out at its size (so a retained
 * small chunk does not pin a 64 KiB buffer) and the read buffer is reused.
 */
async function pump(
  stream: ReadableStream<Uint8Array>,
  name: StreamName,
  sink: ChildSink,
): Promise<void> {
  const reader = stream.getReader({ mode: "byob" });
  try {
    let buffer: ArrayBuffer | null = null;
    for (;;) {
      buffer ??= new ArrayBuffer(FRAME_HEADROOM + READ_SIZE);
      const { value, done } = await reader.read(
        new Uint8Array(buffer, FRAME_HEADROOM, READ_SIZE),
      );
      if (done || !value) break;
      let data: Uint8Array;
      if (value.byteLength < COPY_BELOW) {
        data = value.slice();
        buffer = value.buffer as ArrayBuffer;
      } else {
        data = markHeadroom(value);
        buffer = null;
      }
      const wait = sink.output(name, data);
      if (wait) await wait;
    }
  } catch {
    // A read error ends the stream like EOF.
  } finally {
    reader.releaseLock();
    sink.end(name);
  }
}

/**
 * Spawns a piped child with `Deno.Command`. Rejects with the OS reason when
 * the program or the cwd is missing.
 *
 * @example
 * ```ts ignore
 * const child = await spawnPipedCommand(options, sink);
 * child.signal("SIGTERM");
 * ```
 */
// deno-lint-ignore require-await -- async so that every failure is a rejection
export async function spawnPipedCommand(
  options: SpawnOptions,
  sink: ChildSink,
): Promise<Child> {
  checkCwd(options.cwd);
  const argv0 = options.argv[0]!;
  // Found here, in the child's PATH, so that a missing program fails the
  // start (rather than becoming an exit code of setsid or perl) exactly as
  // on a terminal, and so that Deno.Command, which would search the server's
  // PATH for a child without one, is handed an absolute path.
  const path = findProgram(argv0, options.cwd, options.env);
  let program = path;
  let args = options.argv.slice(1);
  if (options.arg0 !== null && options.arg0 !== argv0) {
    // Deno.Command cannot set argv[0]; perl's `exec {PROGRAM} LIST` can, and
    // unlike a shell it adds nothing to the environment.
    args = ["-e", EXEC_WITH_ARG0, "--", path, options.arg0, ...args];
    program = perl();
  }
  if (SETSID) {
    // setsid execvp()s its argument by findProgram's rule (the child's PATH,
    // else DEFAULT_SEARCH_PATH, relative entries from cwd), so it runs the
    // file found above when handed argv[0] as given, and the program sees
    // argv[0] unchanged, as on a terminal.
    args = ["--", program === path ? argv0 : program, ...args];
    program = SETSID;
  }
  const command = new Deno.Command(program, {
    args,
    cwd: options.cwd,
    env: options.env,
    clearEnv: true,
    stdin: options.pipeStdin ? "piped" : "null",
    stdout: "piped",
    stderr: "piped",
    detached: SETSID === null,
  });
  const tree = containment().newTree();
  let spawned: Deno.ChildProcess | null = null;
  try {
    tree.spawn(() => (spawned = command.spawn()).pid);
  } catch (error) {
    // The tree failed after the spawn (it killed the child): let go of it.
    const failed = spawned as Deno.ChildProcess | null;
    if (failed) {
      if (options.pipeStdin) failed.stdin.close().catch(() => {});
      failed.stdout.cancel().catch(() => {});
      failed.stderr.cancel().catch(() => {});
      failed.status.catch(() => {});
    }
    throw error;
  }
  const child: Deno.ChildProcess = spawned!;
  const pid = child.pid;
  let reaped = false;
  const writer = options.pipeStdin ? child.stdin.getWriter() : null;
  let stdinClosed = writer === null;
  /** Once the child is gone nothing can be written: release the pipe (its fd). */
  const reap = () => {
    reaped = true;
    if (stdinClosed || !writer) return;
    stdinClosed = true;
    writer.abort(new StdinClosedError()).catch(() => {});
  };
  void pump(child.stdout, "stdout", sink);
  void pump(child.stderr, "stderr", sink);
  child.status.then(
    (s) => {
      reap();
      sink.exit({ code: s.code, signal: s.signal });
    },
    () => {
      reap();
      sink.exit({ code: -1, signal: null });
    },
  );
  return {
    pid,
    streams: ["stdout", "stderr"],
    async write(data) {
      if (stdinClosed || !writer) throw new StdinClosedError();
      try {
        await writer.write(data);
      } catch (err) {
        // The child exited (or closed its stdin) before its exit was seen.
        if (err instanceof Deno.errors.BrokenPipe) throw new StdinClosedError();
        throw err;
      }
    },
    async closeStdin() {
      if (stdinClosed || !writer) return;
      stdinClosed = true;
      try {
        await writer.close();
      } catch {
        // Already broken (the child exited): EOF is moot.
      }
    },
    signal(signal) {
      // Once reaped, the group id may be free for another process to take.
      if (reaped) return tree.signalGroup(signal);
      try {
        Deno.kill(-pid, signal);
      } catch (err) {
        if (!isNoSuchProcess(err)) throw err;
        // No group yet: the child has not run setsid(2), so it has not
        // started the command either, and signalling the child is enough.
        if (!SETSID || reaped) return;
        try {
          Deno.kill(pid, signal);
        } catch (err2) {
          if (!isNoSuchProcess(err2)) throw err2;
        }
      }
    },
    signalTree(signal) {
      tree.signal(signal);
    },
    treeAlive: () => tree.alive(),
    release() {
      tree.release();
      reap();
    },
    resize() {
      throw new TypeError(
        "Cannot resize: the process is not running on a terminal",
      );
    },
  };
}
