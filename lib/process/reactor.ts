// Copyright 2026 the exec-server authors. MIT license.
/**
 * The shared reactor behind the FFI backends (terminals in `pty.ts`, pipes
 * in `pipe_ffi.ts`): one `poll()` call, run off the JS thread, watches an
 * eventfd, every child's output and input descriptors and one pidfd per
 * child.
 *
 * Deno runs nonblocking FFI calls on a small pool (about 32 threads, shared
 * with async file-system ops), so one blocking call per child would starve
 * file I/O and deadlock at about 32 children. Here the number of blocking
 * calls in flight is one, whatever the number of children. Reads, writes and
 * `waitpid` run synchronously on nonblocking descriptors once `poll` reports
 * them ready. The loop stops (no pending op) when no child is left.
 *
 * Faults are contained: an exception while serving one child closes that
 * child (killed, streams ended, exit code -1) with a logged reason; a failing
 * `poll` backs off instead of spinning, and closes every child if it keeps
 * failing. The server never dies of a reactor fault.
 *
 * One class on purpose (past 400 lines): the poll set, reads, writes and
 * fault handling share its private state; per-child state and chunking are
 * in `reactor_child.ts`.
 *
 * @module
 */
import { StdinClosedError } from "./child.ts";
import { C, errno, type Libc, osError } from "./ffi_libc.ts";
import {
  decodeStatus,
  type InputPort,
  type OutputPort,
  type ReactorChild,
  ReadBuffer,
} from "./reactor_child.ts";
import { messageOf } from "../util/errors.ts";
import { processLog } from "./log.ts";

/** Bytes asked for per read of a pipe (its buffer is raised to 1 MiB where permitted). */
export const PIPE_READ_SIZE = 256 * 1024;
/** Bytes gathered per chunk of a terminal's output (over several reads: see #read). */
const PTY_READ_SIZE = 64 * 1024;
/** The most the tty layer hands out per read (N_TTY's 4 KiB buffer). */
const PTY_MAX_READ = 4096;
/** Reads per stream per round, so one busy child cannot hog the loop. */
const READS_PER_ROUND = 16;
/** Time a reactor round may spend reading before it yields, in ms. */
const ROUND_BUDGET_MS = 4;
/** Reads for the drain after the exit (the tty buffers hold < 100 KiB). */
const READS_AFTER_EXIT = 256;
/** Consecutive failed polls after which every child is closed. */
const MAX_POLL_FAILURES = 20;

/** What one pollfd entry stands for. */
interface Slot {
  child: ReactorChild;
  /** An output port, the input port, or the pidfd. */
  role: OutputPort | InputPort | "pid";
}

let shared: Reactor | null = null;

export { newReactorChild, type ReactorChild } from "./reactor_child.ts";

/** The process-wide reactor, created on first use. */
export function reactor(lib: Libc): Reactor {
  shared ??= new Reactor(lib);
  return shared;
}

/** Drives every FFI child with a single outstanding `poll()`. */
export class Reactor {
  #lib: Libc;
  #children = new Set<ReactorChild>();
  #eventfd = -1;
  #woken = false;
  #rotor = 0;
  #counter = new BigUint64Array([1n]);
  readonly #readBuffer = new ReadBuffer(PIPE_READ_SIZE);
  /** The pollfd array and what its entries stand for, rewritten each round. */
  #pollBuffer = new ArrayBuffer(64);
  readonly #slots: Slot[] = [];
  readonly #masks: number[] = [];

  /** Creates an idle reactor; use {@linkcode reactor} instead. */
  constructor(lib: Libc) {
    this.#lib = lib;
  }

  /** Children being served (for tests and diagnostics). */
  get size(): number {
    return this.#children.size;
  }

  /** Whether no poll loop runs (no child is left; for tests and diagnostics). */
  get idle(): boolean {
    return this.#eventfd < 0;
  }

  /** Starts watching `child`, starting the poll loop if it was idle. */
  add(child: ReactorChild): void {
    if (this.#eventfd < 0) {
      const fd = this.#lib.eventfd(0, C.O_NONBLOCK | C.O_CLOEXEC);
      if (fd < 0) throw osError(errno(), "eventfd");
      this.#eventfd = fd;
      this.#woken = false;
      this.#children.add(child);
      this.#loop().catch((error) => {
        // Only a bug gets here; the loop contains its own faults.
        processLog().error(`process reactor stopped: ${messageOf(error)}`);
        this.#failAll(`the reactor stopped: ${messageOf(error)}`);
        this.#stop();
      });
    } else {
      this.#children.add(child);
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
  write(child: ReactorChild, data: Uint8Array): Promise<void> {
    const input = child.input;
    if (input === null || input.fd < 0 || input.closing !== null) {
      return Promise.reject(new StdinClosedError());
    }
    if (data.length === 0) return Promise.resolve();
    child.lastByte = data[data.length - 1] ?? child.lastByte;
    let offset = 0;
    if (input.writes.length === 0) {
      try {
        offset = this.#writeSome(child, input, data, 0);
      } catch (error) {
        return Promise.reject(error);
      }
      if (offset === data.length) return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      // Not copied: the caller keeps the buffer unchanged until this settles
      // (Child.write's contract), and a copy would double a large write.
      input.writes.push({ data, offset, resolve, reject });
      this.wake();
    });
  }

  /** Closes a pipe's input once the queued writes are out (end-of-file for the child). */
  closeInput(child: ReactorChild): Promise<void> {
    const input = child.input;
    if (input === null || input.fd < 0) return Promise.resolve();
    if (input.writes.length === 0) {
      this.#closeInput(child, "stdin closed");
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const previous = input.closing;
      input.closing = () => {
        previous?.();
        resolve();
      };
    });
  }

  /**
   * Stops reading and writing for `child` (its owner released it): closes
   * its descriptors now, without end-of-file reports. The reap still happens.
   */
  abandon(child: ReactorChild): void {
    this.#rejectWrites(child, "Cannot write: the process was released");
    for (const port of child.outputs) this.#closeOutput(child, port);
    this.#closeInput(child, "the process was released");
    child.failed = true;
    if (child.pidfd < 0) this.#children.delete(child);
    // The pending poll still waits on the closed descriptors (it holds the
    // files) and would sleep until one of them, or another child, has an
    // event: make it return, drop them, and stop when nobody is left.
    this.wake();
  }

  async #loop(): Promise<void> {
    let failures = 0;
    while (this.#children.size > 0) {
      const { buffer, slots } = this.#pollSet();
      let ready: number;
      try {
        ready = await this.#lib.poll(buffer, BigInt(slots.length + 1), -1);
      } catch (error) {
        processLog().error(`process reactor: poll threw: ${messageOf(error)}`);
        ready = -1;
      }
      if (ready < 0) {
        // EINTR, ENOMEM or EINVAL (errno stays on the worker thread): back
        // off instead of spinning, and give up on the children if it lasts.
        failures++;
        if (failures >= MAX_POLL_FAILURES) {
          processLog().error(`process reactor: poll failed ${failures} times in a row`);
          this.#failAll("poll(2) keeps failing");
          failures = 0;
          continue;
        }
        await new Promise((resolve) => setTimeout(resolve, Math.min(100, 2 ** failures)));
        continue;
      }
      failures = 0;
      this.#dispatch(buffer, slots);
    }
    this.#stop();
  }

  #stop(): void {
    if (this.#eventfd >= 0) this.#lib.close(this.#eventfd);
    this.#eventfd = -1;
  }

  /**
   * The pollfd array: entry 0 is the eventfd, then one entry per descriptor
   * that has something to wait for. Paused and closed descriptors are left
   * out (not set to -1), so the array never outgrows the open descriptors.
   */
  #pollSet(): { buffer: ArrayBuffer; slots: Slot[] } {
    const slots = this.#slots;
    const masks = this.#masks;
    slots.length = 0;
    masks.length = 0;
    for (const child of this.#children) {
      for (const port of child.outputs) {
        let mask = !port.paused && !port.eof && port.fd >= 0 && !child.failed ? C.POLLIN : 0;
        if (child.pty && child.input && child.input.writes.length > 0) mask |= C.POLLOUT;
        if (mask !== 0 && port.fd >= 0) {
          slots.push({ child, role: port });
          masks.push(mask);
        }
      }
      const input = child.input;
      if (!child.pty && input && input.fd >= 0 && input.writes.length > 0) {
        slots.push({ child, role: input });
        masks.push(C.POLLOUT);
      }
      if (child.pidfd >= 0) {
        slots.push({ child, role: "pid" });
        masks.push(C.POLLIN);
      }
    }
    // struct pollfd is {int fd; short events; short revents}. The buffer is
    // reused (grown by doubling): poll only runs between two rebuilds.
    if (this.#pollBuffer.byteLength < 8 * (1 + slots.length)) {
      let size = this.#pollBuffer.byteLength;
      while (size < 8 * (1 + slots.length)) size *= 2;
      this.#pollBuffer = new ArrayBuffer(size);
    }
    const buffer = this.#pollBuffer;
    const fds = new Int32Array(buffer);
    const events = new Int16Array(buffer);
    events[3] = 0;
    fds[0] = this.#eventfd;
    events[2] = C.POLLIN;
    slots.forEach((slot, i) => {
      const role = slot.role;
      fds[2 * (i + 1)] = role === "pid" ? slot.child.pidfd : role.fd;
      events[4 * (i + 1) + 2] = masks[i]!;
      events[4 * (i + 1) + 3] = 0;
    });
    return { buffer, slots };
  }

  #dispatch(buffer: ArrayBuffer, slots: Slot[]): void {
    const events = new Int16Array(buffer);
    if (events[3] !== 0) {
      this.#lib.read(this.#eventfd, new BigUint64Array(1), 8n);
      this.#woken = false;
    }
    const ready = new Map<ReactorChild, { role: Slot["role"]; revents: number }[]>();
    slots.forEach((slot, i) => {
      const revents = events[4 * (i + 1) + 3] ?? 0;
      if (revents === 0) return;
      const list = ready.get(slot.child);
      if (list) list.push({ role: slot.role, revents });
      else ready.set(slot.child, [{ role: slot.role, revents }]);
    });
    // Reading a busy child costs about 50 µs per 4 KiB, so a round stops
    // reading after a time budget to keep the event loop responsive; it
    // resumes next round where this one stopped.
    const order = [...this.#children];
    if (order.length === 0) return;
    const budgetEnd = performance.now() + ROUND_BUDGET_MS;
    const first = this.#rotor % order.length;
    let served = 0;
    for (let j = 0; j < order.length; j++) {
      const child = order[(first + j) % order.length]!;
      const inBudget = performance.now() < budgetEnd;
      if (inBudget) served++;
      try {
        this.#serve(child, ready.get(child) ?? [], inBudget);
      } catch (error) {
        this.#fail(child, `a fault while serving it: ${messageOf(error)}`);
      }
    }
    this.#rotor = first + served;
  }

  #serve(
    child: ReactorChild,
    ready: { role: Slot["role"]; revents: number }[],
    inBudget: boolean,
  ): void {
    const reads = inBudget ? READS_PER_ROUND : 0;
    let exited = false;
    for (const { role, revents } of ready) {
      if (role === "pid") {
        exited = true;
      } else if ("stream" in role) {
        if (child.pty && child.input && child.input.writes.length > 0 && (revents & ~C.POLLIN)) {
          this.#flush(child, child.input);
        }
        if (revents & (C.POLLIN | C.POLLHUP | C.POLLERR | C.POLLNVAL)) {
          this.#read(child, role, reads);
        }
      } else {
        this.#flush(child, role);
      }
    }
    if (exited && child.pidfd >= 0) this.#onExit(child);
    for (const port of child.outputs) {
      if (!port.resumed) continue;
      if (inBudget) {
        port.resumed = false;
        this.#read(child, port, READS_PER_ROUND);
      } else {
        this.wake();
      }
    }
    this.#finish(child);
  }

  #onExit(child: ReactorChild): void {
    contain(() => child.beforeReap());
    const raw = new Int32Array(1);
    const rc = this.#lib.waitpid(child.pid, raw, C.WNOHANG);
    if (rc === 0) return;
    // rc < 0 (ECHILD): someone else reaped it and the status is lost.
    child.status = rc === child.pid ? decodeStatus(raw[0] ?? 0) : { code: -1, signal: null };
    this.#lib.close(child.pidfd);
    child.pidfd = -1;
    if (child.failed) return;
    // Everything the child wrote is in the kernel's buffers by now; hand it
    // out before reporting the exit.
    for (const port of child.outputs) {
      port.drained = false;
      port.resumed = false;
      this.#read(child, port, READS_AFTER_EXIT);
    }
    if (!child.pty) {
      // Nothing can be written once the child is gone: release the pipe (a
      // descendant that inherited it keeps its own copy). The exit goes out
      // now; output a descendant keeps writing follows it.
      this.#closeInput(child, "the process exited");
      this.#sendExit(child);
    }
  }

  #read(child: ReactorChild, port: OutputPort, limit: number): void {
    const size = child.pty ? PTY_READ_SIZE : PIPE_READ_SIZE;
    let reads = 0;
    // A terminal hands out at most 4 KiB per read: what the reads of one pass
    // find queued goes out as one chunk (one frame), up to PTY_READ_SIZE.
    let view: Uint8Array | null = null;
    let filled = 0;
    const flush = () => {
      if (filled > 0) this.#deliver(child, port, this.#readBuffer.take(filled));
      view = null;
      filled = 0;
    };
    while (!port.paused && !port.eof && port.fd >= 0) {
      if (reads++ === limit) {
        flush();
        port.drained = false;
        return;
      }
      view ??= this.#readBuffer.view(size);
      const room = view.subarray(filled);
      const n = Number(this.#lib.read(port.fd, room, BigInt(room.byteLength)));
      if (n > 0) {
        filled += n;
        if (!child.pty || filled > view.byteLength - PTY_MAX_READ) flush();
        continue;
      }
      const code = n < 0 ? errno() : 0;
      if (code === C.EINTR) continue;
      flush();
      if (code === C.EAGAIN) {
        port.drained = true;
        return;
      }
      // 0 or EIO: every writer closed it (for a terminal: the session leader
      // exited and the kernel hung it up). A delivery may have paused the
      // port meanwhile: the end waits until it is read again.
      if (port.paused) {
        port.drained = false;
        return;
      }
      this.#endOfFile(child, port);
    }
    flush();
  }

  #deliver(child: ReactorChild, port: OutputPort, chunk: Uint8Array): void {
    const result = child.sink.output(port.stream, chunk);
    if (result instanceof Promise) {
      port.paused = true;
      port.drained = false;
      const resume = () => {
        port.paused = false;
        port.resumed = true;
        this.wake();
      };
      result.then(resume, resume);
    }
  }

  #endOfFile(child: ReactorChild, port: OutputPort): void {
    port.eof = true;
    port.drained = true;
    if (child.pty) {
      this.#rejectWrites(child, "Cannot write: the terminal closed");
    } else {
      this.#closeOutput(child, port);
    }
    child.sink.end(port.stream);
  }

  /** Closes an output descriptor (a terminal's master: its input too). */
  #closeOutput(child: ReactorChild, port: OutputPort): void {
    port.eof = true;
    if (port.fd >= 0) this.#lib.close(port.fd);
    port.fd = -1;
    if (child.pty && child.input !== null) child.input.fd = -1;
  }

  /** Closes a pipe's input (a terminal's master closes with its output). */
  #closeInput(child: ReactorChild, why: string): void {
    const input = child.input;
    if (input === null) return;
    this.#rejectWrites(child, `Cannot write to stdin: ${why}`);
    if (!child.pty && input.fd >= 0) this.#lib.close(input.fd);
    if (!child.pty) input.fd = -1;
    const closing = input.closing;
    input.closing = null;
    closing?.();
  }

  #rejectWrites(child: ReactorChild, message: string): void {
    for (const pending of child.input?.writes.splice(0) ?? []) {
      pending.reject(new StdinClosedError(message));
    }
  }

  #flush(child: ReactorChild, input: InputPort): void {
    while (input.writes.length > 0) {
      const pending = input.writes[0]!;
      try {
        pending.offset = this.#writeSome(child, input, pending.data, pending.offset);
      } catch (error) {
        input.writes.shift();
        pending.reject(error);
        continue;
      }
      if (pending.offset < pending.data.length) return;
      input.writes.shift();
      pending.resolve();
    }
    if (input.closing !== null) this.#closeInput(child, "stdin closed");
  }

  #writeSome(child: ReactorChild, input: InputPort, data: Uint8Array, from: number): number {
    let offset = from;
    while (offset < data.length) {
      const rest = data.subarray(offset);
      const n = Number(this.#lib.write(input.fd, rest, BigInt(rest.length)));
      if (n > 0) {
        offset += n;
        continue;
      }
      const code = n < 0 ? errno() : C.EAGAIN;
      if (code === C.EAGAIN) break;
      if (code === C.EINTR) continue;
      if (code === C.EIO && child.pty) {
        throw new StdinClosedError("Cannot write: the terminal closed");
      }
      if (code === C.EPIPE) {
        throw new StdinClosedError("Cannot write to stdin: the process closed it");
      }
      throw osError(code, child.pty ? "write to terminal" : "write to stdin");
    }
    return offset;
  }

  #sendExit(child: ReactorChild): void {
    if (child.exitSent || child.status === null) return;
    child.exitSent = true;
    child.sink.exit(child.status);
  }

  /** Reports a terminal's exit once all output is out, and frees a finished child. */
  #finish(child: ReactorChild): void {
    if (child.pty) {
      const port = child.outputs[0]!;
      if (child.status !== null && !port.paused && (port.drained || port.eof)) {
        this.#sendExit(child);
      }
      if (child.exitSent && port.eof && port.fd >= 0) {
        this.#closeOutput(child, port);
        this.#rejectWrites(child, "Cannot write: the terminal closed");
      }
    }
    const open = child.outputs.some((port) => port.fd >= 0) ||
      (!child.pty && child.input !== null && child.input.fd >= 0);
    if (child.pidfd < 0 && (child.exitSent || child.failed) && !open) {
      this.#children.delete(child);
    }
  }

  /** Closes `child` after a fault: killed, streams ended, exit -1, reason logged. */
  #fail(child: ReactorChild, reason: string): void {
    if (child.failed) {
      // Failing again (in the reap): let go of it entirely.
      if (child.pidfd >= 0) this.#lib.close(child.pidfd);
      child.pidfd = -1;
      this.#children.delete(child);
      return;
    }
    child.failed = true;
    processLog().error(`process ${child.pid}: closed by the reactor after ${reason}`);
    contain(() => child.killTree());
    for (const port of child.outputs) {
      const ended = port.eof;
      this.#closeOutput(child, port);
      if (!ended) contain(() => child.sink.end(port.stream));
    }
    if (child.input !== null) {
      this.#rejectWrites(child, "Cannot write: the process was closed after a fault");
      if (child.input.fd >= 0 && !child.pty) this.#lib.close(child.input.fd);
      child.input.fd = -1;
      const closing = child.input.closing;
      child.input.closing = null;
      closing?.();
    }
    if (!child.exitSent) {
      child.exitSent = true;
      contain(() => child.sink.exit({ code: -1, signal: null }));
    }
    if (child.pidfd < 0) this.#children.delete(child);
  }

  #failAll(reason: string): void {
    for (const child of [...this.#children]) this.#fail(child, reason);
  }
}

/** Runs a callback during fault handling; a second fault is logged, not raised. */
function contain(callback: () => void): void {
  try {
    callback();
  } catch (error) {
    processLog().error(`process reactor: ${messageOf(error)}`);
  }
}
