// Copyright 2026 the exec-server authors. MIT license.
/**
 * The shared reactor behind `pty.ts`: one `poll()` call, run off the JS
 * thread, watches an eventfd, every terminal master and one pidfd per child.
 *
 * Deno runs nonblocking FFI calls on a small pool (about 32 threads, shared
 * with async file-system ops), so one blocking call per terminal would starve
 * file I/O and deadlock at about 32 terminals. Here the number of blocking
 * calls in flight is one, whatever the number of terminals. Reads, writes and
 * `waitpid` run synchronously on nonblocking descriptors once `poll` reports
 * them ready. The loop stops (no pending op) when no terminal is left.
 *
 * @module
 */

import { type ChildSink, type ExitStatus, StdinClosedError } from "./child.ts";
import { C, errno, type Libc, osError, signalName } from "./ffi_libc.ts";

const READ_SIZE = 65536;
/** Reads per terminal per round, so one busy child cannot hog the loop. */
const READS_PER_ROUND = 16;
/** Time a reactor round may spend reading before it yields, in ms. */
const ROUND_BUDGET_MS = 4;
/** Reads for the drain after the exit (the tty buffers hold < 100 KiB). */
const READS_AFTER_EXIT = 256;
const NEWLINE = 0x0a;

/** Bytes that the kernel did not take yet, and the caller's promise. */
export interface PendingWrite {
  /** The bytes (a private copy). */
  data: Uint8Array;
  /** How many of them were written. */
  offset: number;
  /** Settles the caller's `write()` promise once all bytes are written. */
  resolve: () => void;
  /** Fails the caller's `write()` promise. */
  reject: (error: unknown) => void;
}

/** One terminal as the reactor sees it; `pty.ts` reads it, never writes. */
export interface PtyState {
  /** The session leader's pid (also its process group and session id). */
  pid: number;
  /** Master fd; -1 once closed. */
  master: number;
  /** pidfd; -1 once the child is reaped. */
  pidfd: number;
  /** Receives the output, end-of-file and exit. */
  sink: ChildSink;
  /** A promise from `sink.output` is pending: do not read. */
  paused: boolean;
  /** Resumed from a pause; the reactor must read before polling again. */
  resumed: boolean;
  /** The last read ended with EAGAIN or EOF. */
  drained: boolean;
  /** The master read EOF or EIO: the terminal is closed. */
  eof: boolean;
  /** Set once the child is reaped. */
  status: ExitStatus | null;
  /** `sink.exit` was called. */
  exitSent: boolean;
  /** Writes waiting for POLLOUT, oldest first. */
  writes: PendingWrite[];
  /** Set by `closeStdin`; later writes are refused. */
  stdinClosed: Promise<void> | null;
  /** Last byte queued for writing, to know if a line is partly typed. */
  lastByte: number;
}

/** The initial state of a just-spawned child. */
export function newPtyState(
  pid: number,
  master: number,
  pidfd: number,
  sink: ChildSink,
): PtyState {
  return {
    pid,
    master,
    pidfd,
    sink,
    paused: false,
    resumed: false,
    drained: false,
    eof: false,
    status: null,
    exitSent: false,
    writes: [],
    stdinClosed: null,
    lastByte: NEWLINE,
  };
}

function decodeStatus(raw: number): ExitStatus {
  const sig = raw & 0x7f;
  if (sig === 0) return { code: (raw >> 8) & 0xff, signal: null };
  if (sig !== 0x7f) return { code: 128 + sig, signal: signalName(sig) };
  return { code: -1, signal: null };
}

// -- The reactor --

let shared: Reactor | null = null;

/** The process-wide reactor, created on first use. */
export function ptyReactor(lib: Libc): Reactor {
  shared ??= new Reactor(lib);
  return shared;
}

/** Drives every terminal with a single outstanding `poll()`. */
export class Reactor {
  #lib: Libc;
  #states = new Set<PtyState>();
  #eventfd = -1;
  #woken = false;
  #rotor = 0;
  #readBuffer = new Uint8Array(READ_SIZE);
  #counter = new BigUint64Array([1n]);

  /** Creates an idle reactor; use {@linkcode ptyReactor} instead. */
  constructor(lib: Libc) {
    this.#lib = lib;
  }

  /** Starts watching `state`, starting the poll loop if it was idle. */
  add(state: PtyState): void {
    if (this.#eventfd < 0) {
      const efdFlags = C.O_NONBLOCK | C.O_CLOEXEC;
      const fd = this.#lib.eventfd(0, efdFlags);
      if (fd < 0) throw osError(errno(), "eventfd");
      this.#eventfd = fd;
      this.#woken = false;
      this.#states.add(state);
      // A crash here is a bug that would hang every terminal; let the
      // rejection surface instead of swallowing it.
      this.#loop();
    } else {
      this.#states.add(state);
      this.wake();
    }
  }

  /** Makes the pending poll return so the fd set is rebuilt. */
  wake(): void {
    if (this.#eventfd < 0 || this.#woken) return;
    this.#woken = true;
    this.#lib.write(this.#eventfd, this.#counter, 8n);
  }

  /** Writes what the kernel takes now and queues the rest for POLLOUT. */
  write(state: PtyState, data: Uint8Array): Promise<void> {
    if (data.length === 0) return Promise.resolve();
    state.lastByte = data[data.length - 1] ?? state.lastByte;
    let offset = 0;
    if (state.writes.length === 0) {
      try {
        offset = this.#writeSome(state, data, 0);
      } catch (error) {
        return Promise.reject(error);
      }
      if (offset === data.length) return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      // Copy: the caller may reuse its buffer once write() returned.
      state.writes.push({
        data: data.slice(offset),
        offset: 0,
        resolve,
        reject,
      });
      this.wake();
    });
  }

  async #loop(): Promise<void> {
    const lib = this.#lib;
    while (this.#states.size > 0) {
      const order = [...this.#states];
      const pollfds = new ArrayBuffer(8 * (1 + 2 * order.length));
      const fds = new Int32Array(pollfds);
      const events = new Int16Array(pollfds);
      fds[0] = this.#eventfd;
      events[2] = C.POLLIN;
      // struct pollfd is {int fd; short events; short revents}: entry k is
      // fds[2k] with events[4k + 2] and revents[4k + 3]. Entry 0 is the
      // eventfd, then each terminal's master (1 + 2i) and pidfd (2 + 2i).
      order.forEach((state, i) => {
        const canRead = !state.paused && !state.eof && state.master >= 0;
        const mask = (canRead ? C.POLLIN : 0) |
          (state.writes.length > 0 && state.master >= 0 ? C.POLLOUT : 0);
        // fd -1 is skipped by poll: this is how a paused terminal waits.
        fds[2 + 4 * i] = mask === 0 ? -1 : state.master;
        events[6 + 8 * i] = mask;
        fds[4 + 4 * i] = state.pidfd;
        events[10 + 8 * i] = C.POLLIN;
      });
      // Exactly one blocking call for all terminals. Its result is only
      // negative for EINTR and the like (errno is on the worker thread).
      const ready = await lib.poll(fds, BigInt(1 + 2 * order.length), -1);
      if (ready < 0) continue;
      if (events[3] !== 0) {
        lib.read(this.#eventfd, new BigUint64Array(1), 8n);
        this.#woken = false;
      }
      // Reading a busy terminal costs about 50 µs per 4 KiB, so a round
      // stops reading after a time budget to keep the event loop responsive;
      // it resumes next round where this one stopped.
      const budgetEnd = performance.now() + ROUND_BUDGET_MS;
      const first = this.#rotor % order.length;
      let served = 0;
      for (let j = 0; j < order.length; j++) {
        const i = (first + j) % order.length;
        const state = order[i]!;
        const masterEvents = events[7 + 8 * i] ?? 0;
        const pidEvents = events[11 + 8 * i] ?? 0;
        const inBudget = performance.now() < budgetEnd;
        if (inBudget) served++;
        if (masterEvents !== 0) {
          this.#onMaster(state, masterEvents, inBudget ? READS_PER_ROUND : 0);
        }
        if (pidEvents !== 0 && state.pidfd >= 0) this.#onExit(state);
        if (state.resumed && inBudget) {
          state.resumed = false;
          this.#read(state, READS_PER_ROUND);
        } else if (state.resumed) {
          this.wake();
        }
        this.#finish(state);
      }
      this.#rotor = first + served;
    }
    lib.close(this.#eventfd);
    this.#eventfd = -1;
  }

  #onMaster(state: PtyState, revents: number, reads: number): void {
    if (state.writes.length > 0 && (revents & ~C.POLLIN) !== 0) {
      this.#flush(state);
    }
    const readable = C.POLLIN | C.POLLHUP | C.POLLERR | C.POLLNVAL;
    if ((revents & readable) !== 0) this.#read(state, reads);
  }

  #onExit(state: PtyState): void {
    const raw = new Int32Array(1);
    const rc = this.#lib.waitpid(state.pid, raw, C.WNOHANG);
    if (rc === 0) return;
    // rc < 0 (ECHILD): someone else reaped it and the status is lost.
    state.status = rc === state.pid ? decodeStatus(raw[0] ?? 0) : { code: -1, signal: null };
    this.#lib.close(state.pidfd);
    state.pidfd = -1;
    // Everything the child wrote is in the terminal's buffers by now; hand
    // it out before reporting the exit.
    state.drained = false;
    state.resumed = false;
    this.#read(state, READS_AFTER_EXIT);
  }

  #read(state: PtyState, limit: number): void {
    const lib = this.#lib;
    const buffer = this.#readBuffer;
    let reads = 0;
    while (!state.paused && !state.eof) {
      if (reads++ === limit) {
        state.drained = false;
        return;
      }
      const n = Number(lib.read(state.master, buffer, BigInt(READ_SIZE)));
      if (n > 0) {
        this.#deliver(state, buffer.slice(0, n));
        continue;
      }
      if (n < 0) {
        const code = errno();
        if (code === C.EAGAIN) {
          state.drained = true;
          return;
        }
        if (code === C.EINTR) continue;
      }
      // 0 or EIO: the slave side is closed (the session leader exited and
      // the kernel hung up the terminal, or every holder closed it).
      this.#endOfFile(state);
    }
  }

  #deliver(state: PtyState, chunk: Uint8Array): void {
    let result: void | Promise<void>;
    try {
      result = state.sink.output("pty", chunk);
    } catch (error) {
      reportError(error);
      return;
    }
    if (result instanceof Promise) {
      state.paused = true;
      state.drained = false;
      const resume = () => {
        state.paused = false;
        state.resumed = true;
        this.wake();
      };
      result.then(resume, resume);
    }
  }

  #endOfFile(state: PtyState): void {
    state.eof = true;
    state.drained = true;
    call(() => state.sink.end("pty"));
    for (const pending of state.writes.splice(0)) {
      pending.reject(new StdinClosedError("Cannot write: the terminal closed"));
    }
  }

  #flush(state: PtyState): void {
    while (state.writes.length > 0) {
      const pending = state.writes[0]!;
      try {
        pending.offset = this.#writeSome(state, pending.data, pending.offset);
      } catch (error) {
        state.writes.shift();
        pending.reject(error);
        continue;
      }
      if (pending.offset < pending.data.length) return;
      state.writes.shift();
      pending.resolve();
    }
  }

  #writeSome(state: PtyState, data: Uint8Array, from: number): number {
    let offset = from;
    while (offset < data.length) {
      const rest = data.subarray(offset);
      const n = Number(
        this.#lib.write(state.master, rest, BigInt(rest.length)),
      );
      if (n > 0) {
        offset += n;
        continue;
      }
      const code = n < 0 ? errno() : C.EAGAIN;
      if (code === C.EAGAIN) break;
      if (code === C.EINTR) continue;
      if (code === C.EIO) {
        throw new StdinClosedError("Cannot write: the terminal closed");
      }
      throw osError(code, "write to terminal");
    }
    return offset;
  }

  /** Reports the exit once all output is out, and frees a finished child. */
  #finish(state: PtyState): void {
    if (
      state.status !== null && !state.exitSent && !state.paused &&
      (state.drained || state.eof)
    ) {
      state.exitSent = true;
      const status = state.status;
      call(() => state.sink.exit(status));
    }
    if (state.exitSent && state.eof && state.master >= 0) {
      this.#lib.close(state.master);
      state.master = -1;
      for (const pending of state.writes.splice(0)) {
        pending.reject(
          new StdinClosedError("Cannot write: the terminal closed"),
        );
      }
      this.#states.delete(state);
    }
  }
}

/** Runs a sink callback; its errors are reported, never fatal to the reactor. */
function call(callback: () => void): void {
  try {
    callback();
  } catch (error) {
    reportError(error);
  }
}
