// Copyright 2026 the exec-server authors. MIT license.
/**
 * Starts children on pseudo-terminals (`tty: true`) through glibc via FFI.
 *
 * All terminals share one reactor: a single `poll()` call, run off the JS
 * thread, watches an eventfd, every terminal master and one pidfd per child.
 * Deno runs nonblocking FFI calls on a small shared pool (about 32 threads,
 * also used by async file-system ops), so a blocking call per terminal would
 * starve file I/O and deadlock at about 32 terminals. Reads, writes and
 * `waitpid` run synchronously on nonblocking descriptors once `poll` reports
 * them ready. The reactor stops when no terminal is left.
 *
 * @module
 */

import {
  type Child,
  type ChildSink,
  type SpawnOptions,
  StdinClosedError,
  type StreamName,
  type TerminalSize,
} from "./child.ts";
import { C, cString, errno, type Libc, libc, osError } from "./ffi_libc.ts";
import { findProgram } from "./program.ts";
import { newReactorChild, reactor } from "./reactor.ts";
import { envEntries, killAndReap, openPidfd, posixSpawn, setNonblocking } from "./spawn_ffi.ts";
import { containment } from "./tree.ts";
import { FfiChild } from "./ffi_child.ts";
import { messageOf } from "../util/mod.ts";

const NEWLINE = 0x0a;
const CTRL_D = 0x04;

/** Whether this process can start terminals, and if not, why. */
export type PtySupport = { ok: true } | { ok: false; reason: string };

/**
 * Reports whether {@linkcode spawnPty} can work here: Linux on x86_64 or
 * aarch64 with glibc, and the `--allow-ffi` permission.
 *
 * @returns `{ ok: true }`, or `{ ok: false, reason }` with a message fit for
 * a client.
 */
export function ptySupport(): PtySupport {
  const prefix = "Cannot start a terminal (tty:true)";
  const { os, arch } = Deno.build;
  if (os !== "linux" || (arch !== "x86_64" && arch !== "aarch64")) {
    return {
      ok: false,
      reason: `${prefix}: only Linux on x86_64 or aarch64 is supported, ` +
        `this is ${os} on ${arch}`,
    };
  }
  if (Deno.permissions.querySync({ name: "ffi" }).state !== "granted") {
    return {
      ok: false,
      reason: `${prefix}: the server lacks the --allow-ffi permission`,
    };
  }
  try {
    libc();
  } catch (error) {
    return { ok: false, reason: `${prefix}: ${messageOf(error)}` };
  }
  return { ok: true };
}

/**
 * Starts `options.argv` as the session leader of a new pseudo-terminal and
 * reports its output to `sink` as the single stream `"pty"`.
 *
 * `argv[0]` is looked up by {@linkcode findProgram} (the child's `PATH`,
 * never the server's), as for piped children; the child gets exactly
 * `options.env`, and its working directory is `options.cwd`. Every byte the child wrote before exiting reaches
 * `sink.output` before `sink.exit`.
 *
 * @param options What to start; `size` is the initial terminal size.
 * @param sink Receives output, end-of-file and the exit status.
 * @returns The running child.
 * @throws {Error} When terminals are unsupported (see {@linkcode ptySupport}),
 * the program or working directory is missing, or the OS refuses; the message
 * carries the OS reason, e.g. `No such file or directory (os error 2): foo`.
 *
 * @example Running a command on a terminal
 * ```ts ignore
 * const child = await spawnPty({
 *   argv: ["sh", "-c", "test -t 1 && echo tty"],
 *   arg0: null,
 *   cwd: "/",
 *   env: { PATH: "/usr/bin:/bin" },
 *   tty: true,
 *   pipeStdin: false,
 *   size: { rows: 24, cols: 80 },
 * }, {
 *   output: (_stream, data) => console.log(new TextDecoder().decode(data)),
 *   end: () => {},
 *   exit: (status) => console.log("exit", status.code),
 * });
 * ```
 */
export function spawnPty(
  options: SpawnOptions,
  sink: ChildSink,
): Promise<Child> {
  try {
    const support = ptySupport();
    if (!support.ok) throw new Error(support.reason);
    return Promise.resolve(start(libc(), options, sink));
  } catch (error) {
    return Promise.reject(error);
  }
}

// -- Spawning --

function start(lib: Libc, options: SpawnOptions, sink: ChildSink): Child {
  const argv0 = options.argv[0];
  if (argv0 === undefined) {
    throw new TypeError("Cannot start a terminal: argv must not be empty");
  }
  checkSize(options.size);
  const cwd = cString(options.cwd);
  if (!isDirectory(lib, cwd) || lib.access(cwd, C.X_OK) !== 0) {
    throw osError(errno(), `cwd ${options.cwd}`);
  }
  const program = findProgram(argv0, options.cwd, options.env);
  const master = lib.posix_openpt(C.O_RDWR | C.O_NOCTTY | C.O_CLOEXEC);
  if (master < 0) throw osError(errno(), "posix_openpt");
  let pid = -1;
  let pidfd = -1;
  const tree = containment().newTree();
  try {
    const slave = openSlave(lib, master);
    setSize(lib, master, options.size);
    setNonblocking(lib, master);
    // pid is set inside too: if the tree fails after the spawn, it is reaped below.
    pid = tree.spawn(() =>
      pid = posixSpawn(lib, {
        program,
        argv: [options.arg0 ?? argv0, ...options.argv.slice(1)],
        env: envEntries(options.env),
        cwd,
        fileActions: [
          { open: 0, path: slave, flags: C.O_RDWR },
          { dup2: 0, to: 1 },
          { dup2: 0, to: 2 },
        ],
        what: argv0,
      })
    );
    pidfd = openPidfd(lib, pid);
    const state = newReactorChild({
      pid,
      pidfd,
      sink,
      pty: true,
      outputs: [{ stream: "pty", fd: master }],
      input: master,
      killTree: () => tree.kill(),
      beforeReap: () => tree.noteLeaderExit(),
    });
    reactor(lib).add(state);
    return new PtyChild(lib, state, tree);
  } catch (error) {
    if (pid > 0) killAndReap(lib, pid);
    tree.release();
    if (pidfd >= 0) lib.close(pidfd);
    lib.close(master);
    throw error;
  }
}

function checkSize(size: TerminalSize): void {
  const ok = (n: number) => Number.isInteger(n) && n >= 0 && n <= 0xffff;
  if (!ok(size.rows) || !ok(size.cols)) {
    throw new RangeError(
      `Cannot set the terminal size: rows and cols must be integers in ` +
        `0..65535, received ${size.rows}x${size.cols}`,
    );
  }
}

function setSize(lib: Libc, master: number, size: TerminalSize): void {
  checkSize(size);
  const winsize = new Uint16Array([size.rows, size.cols, 0, 0]);
  if (lib.ioctl(master, BigInt(C.TIOCSWINSZ), winsize) !== 0) {
    throw osError(errno(), "ioctl TIOCSWINSZ");
  }
}

/** Returns the slave's path as a C string. */
function openSlave(lib: Libc, master: number): Uint8Array {
  if (lib.grantpt(master) !== 0) throw osError(errno(), "grantpt");
  if (lib.unlockpt(master) !== 0) throw osError(errno(), "unlockpt");
  const name = new Uint8Array(256);
  const rc = lib.ptsname_r(master, name, BigInt(name.length));
  if (rc !== 0) throw osError(rc, "ptsname_r");
  return name.subarray(0, name.indexOf(0) + 1);
}

/** False (with errno set) when `path` (a C string) is no directory. */
function isDirectory(lib: Libc, path: Uint8Array): boolean {
  const fd = lib.open(path, C.O_PATH | C.O_DIRECTORY | C.O_CLOEXEC, 0);
  if (fd < 0) return false;
  lib.close(fd);
  return true;
}

class PtyChild extends FfiChild {
  readonly streams: readonly StreamName[] = ["pty"];
  #stdinClosed: Promise<void> | null = null;

  get #master(): number {
    return this.state.outputs[0]!.fd;
  }

  get #closed(): boolean {
    return this.state.outputs[0]!.eof || this.#master < 0;
  }

  write(data: Uint8Array): Promise<void> {
    if (this.#stdinClosed !== null || this.#closed) {
      return Promise.reject(new StdinClosedError());
    }
    return reactor(this.lib).write(this.state, data);
  }

  closeStdin(): Promise<void> {
    if (this.#stdinClosed !== null) return this.#stdinClosed;
    if (this.#closed) {
      this.#stdinClosed = Promise.resolve();
      return this.#stdinClosed;
    }
    const written = reactor(this.lib).write(this.state, this.#eofBytes());
    this.#stdinClosed = written.catch((error) => {
      if (!(error instanceof StdinClosedError)) throw error;
    });
    return this.#stdinClosed;
  }

  /**
   * What a user types for end-of-file: VEOF, twice when a partial line is
   * pending (the first ^D only hands that line to the reader). Without
   * ICANON there is no end-of-file, so a plain ^D is sent.
   */
  #eofBytes(): Uint8Array {
    const termios = new Uint8Array(64);
    if (this.lib.tcgetattr(this.#master, termios) !== 0) {
      return Uint8Array.of(CTRL_D);
    }
    const view = new DataView(termios.buffer);
    const canonical = (view.getUint32(C.TERMIOS_LFLAG, true) & C.ICANON) !== 0;
    const veof = termios[C.TERMIOS_CC + C.VEOF] ?? 0;
    if (!canonical || veof === 0) return Uint8Array.of(CTRL_D);
    const last = this.state.lastByte;
    return last === NEWLINE || last === 0x0d || last === veof
      ? Uint8Array.of(veof)
      : Uint8Array.of(veof, veof);
  }

  resize(size: TerminalSize): void {
    checkSize(size);
    if (this.#master >= 0) setSize(this.lib, this.#master, size);
  }
}
