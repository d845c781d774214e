// Copyright 2026 the exec-server authors. MIT license.
/**
 * The contract between the server core (its managed processes) and the
 * modules that actually start processes (pipes in `pipe.ts`, terminals in
 * `pty.ts`).
 *
 * Nothing in this file touches `Deno.*`.
 *
 * @module
 */

/** Name of an output stream as it appears on the wire. */
export type StreamName = "stdout" | "stderr" | "pty";

/** How a child ended. */
export interface ExitStatus {
  /** Exit code; 128+N when the child was killed by signal N; -1 when unknown. */
  code: number;
  /** Signal name such as `"SIGTERM"` when the child died by a signal, else null. */
  signal: string | null;
}

/**
 * Receives everything a child produces. Implementations call `output` in the
 * order bytes were read, `end` once per stream at EOF, and `exit` once when the
 * child has been reaped. `exit` may come before or after the `end` calls.
 */
export interface ChildSink {
  /**
   * Delivers bytes read from `stream`. When it returns a promise, the caller
   * must not read more from that stream until the promise settles: this is how
   * a slow consumer pauses a fast producer (backpressure).
   */
  output(stream: StreamName, data: Uint8Array): void | Promise<void>;
  /** The stream reached end-of-file. */
  end(stream: StreamName): void;
  /** The child exited and was reaped. */
  exit(status: ExitStatus): void;
}

/** Terminal size in character cells. */
export interface TerminalSize {
  /** Rows (lines). */
  rows: number;
  /** Columns. */
  cols: number;
}

/** What to start. The core validates and resolves every field first. */
export interface SpawnOptions {
  /** Program and arguments; `argv[0]` is looked up in the child's PATH. */
  argv: string[];
  /** Overrides the `argv[0]` the program sees, or null to keep `argv[0]`. */
  arg0: string | null;
  /** Absolute working directory. */
  cwd: string;
  /** The child's complete environment (nothing else is inherited). */
  env: Record<string, string>;
  /** Run on a pseudo-terminal (stream `pty`) instead of pipes. */
  tty: boolean;
  /** For pipes: keep a writable stdin (otherwise stdin is /dev/null). */
  pipeStdin: boolean;
  /** Initial terminal size when `tty` is true. */
  size: TerminalSize;
}

/** Signal names a client may send, mapped to POSIX names. */
export const SIGNALS = {
  interrupt: "SIGINT",
  terminate: "SIGTERM",
  kill: "SIGKILL",
  hangup: "SIGHUP",
  quit: "SIGQUIT",
  user1: "SIGUSR1",
  user2: "SIGUSR2",
} as const;

/** A POSIX signal name that {@linkcode Child.signal} accepts. */
export type PosixSignal = (typeof SIGNALS)[keyof typeof SIGNALS];

/** Thrown by {@linkcode Child.write} when stdin is not (or no longer) open. */
export class StdinClosedError extends Error {
  /** Creates the error with an optional detail message. */
  constructor(message = "Cannot write to stdin: it is closed") {
    super(message);
    this.name = "StdinClosedError";
  }
}

/** A started child process. */
export interface Child {
  /** OS process id; also the id of the child's own process group. */
  readonly pid: number;
  /** Streams this child produces; each gets exactly one `end` call. */
  readonly streams: readonly StreamName[];
  /**
   * Writes bytes to stdin (or types them into the terminal). Resolves once
   * the bytes were handed to the OS; the caller must not change `data` before
   * that (it is not copied). Rejects with {@linkcode StdinClosedError}
   * when stdin is closed, or another error when the write failed.
   */
  write(data: Uint8Array): Promise<void>;
  /** Delivers end-of-file to the child's stdin; idempotent. */
  closeStdin(): Promise<void>;
  /** Sends a signal to the child's whole process group; a gone group is not an error. */
  signal(signal: PosixSignal): void;
  /**
   * Sends a signal to every process of the child's tree: the child and each
   * descendant, also those that left its process group or session (see
   * `tree.ts` for how they are found). A gone tree is not an error.
   * Absent: the process group is the tree.
   */
  signalTree?(signal: PosixSignal): void;
  /**
   * Whether any process of the tree is still alive (zombies do not count).
   * Absent: the tree is alive while the child has not been reaped.
   */
  treeAlive?(): boolean;
  /**
   * The owner is done with the child: SIGKILLs what is left of its tree and
   * frees every OS resource it holds (descriptors, its cgroup); no sink call
   * follows. Idempotent.
   */
  release?(): void;
  /** Changes the terminal size (SIGWINCH); throws TypeError for non-tty children. */
  resize(size: TerminalSize): void;
}

/** Starts a child. Rejects (with the OS reason in the message) when it cannot. */
export type Spawner = (
  options: SpawnOptions,
  sink: ChildSink,
) => Promise<Child>;
