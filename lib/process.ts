// Copyright 2026 the exec-server authors. MIT license.
/**
 * Starts non-terminal children with `Deno.Command`: its own process group
 * (setsid), stdout and stderr piped and streamed with backpressure, stdin
 * piped or null.
 *
 * @module
 */
import {
  type Child,
  type ChildSink,
  type PosixSignal,
  type SpawnOptions,
  StdinClosedError,
  type StreamName,
} from "./child.ts";

/** Sends `signal` to process group `pgid`; a group that is gone is not an error. */
export function killGroup(pgid: number, signal: PosixSignal): void {
  try {
    Deno.kill(-pgid, signal);
  } catch (err) {
    if (
      err instanceof Deno.errors.NotFound ||
      /ESRCH|No such process/i.test(String(err))
    ) return;
    throw err;
  }
}

/** Checks that `cwd` is an existing directory, with a clear error otherwise. */
export async function checkCwd(cwd: string): Promise<void> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(cwd);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new Error(`cwd ${cwd} does not exist (os error 2)`);
    }
    throw new Error(`cwd ${cwd} is not accessible: ${(err as Error).message}`);
  }
  if (!info.isDirectory) {
    throw new Error(`cwd ${cwd} is not a directory (os error 20)`);
  }
}

async function pump(
  stream: ReadableStream<Uint8Array>,
  name: StreamName,
  sink: ChildSink,
): Promise<void> {
  const reader = stream.getReader();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      const wait = sink.output(name, value);
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
 * Spawns a piped child. Rejects with the OS reason when the program or the
 * cwd is missing.
 *
 * @example
 * ```ts ignore
 * const child = await spawnPiped(options, sink);
 * child.signal("SIGTERM");
 * ```
 */
export async function spawnPiped(
  options: SpawnOptions,
  sink: ChildSink,
): Promise<Child> {
  await checkCwd(options.cwd);
  let program = options.argv[0]!;
  let args = options.argv.slice(1);
  if (options.arg0 !== null && options.arg0 !== program) {
    // Deno.Command cannot set argv[0]; bash's `exec -a` can.
    args = ["-c", 'exec -a "$0" "$@"', options.arg0, ...options.argv];
    program = "/bin/bash";
  }
  const command = new Deno.Command(program, {
    args,
    cwd: options.cwd,
    env: options.env,
    clearEnv: true,
    stdin: options.pipeStdin ? "piped" : "null",
    stdout: "piped",
    stderr: "piped",
    detached: true,
  });
  const child = command.spawn();
  const pid = child.pid;
  void pump(child.stdout, "stdout", sink);
  void pump(child.stderr, "stderr", sink);
  child.status.then(
    (s) => sink.exit({ code: s.code, signal: s.signal }),
    () => sink.exit({ code: -1, signal: null }),
  );
  const writer = options.pipeStdin ? child.stdin.getWriter() : null;
  let stdinClosed = writer === null;
  return {
    pid,
    streams: ["stdout", "stderr"],
    async write(data) {
      if (stdinClosed || !writer) throw new StdinClosedError();
      await writer.write(data);
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
      killGroup(pid, signal);
    },
    resize() {
      throw new TypeError(
        "Cannot resize: the process is not running on a terminal",
      );
    },
  };
}
