// Copyright 2026 the exec-server authors. MIT license.
/**
 * The state machine of one process as the protocol sees it: sequence numbers,
 * retained output, exit and close ordering, long-poll reads, terminate with a
 * grace period, timeouts. Runtime-neutral: the OS side is a {@linkcode Child},
 * and every timer (timeout, exit grace, kill grace, retention, long-poll
 * waits) runs on an injected {@linkcode Clock}.
 *
 * @module
 */
import { messageOf } from "../util/errors.ts";
import { type Clock, SYSTEM_CLOCK } from "../util/clock.ts";
import {
  type Child,
  type ChildSink,
  type ExitStatus,
  type PosixSignal,
  StdinClosedError,
  type StreamName,
} from "../process/child.ts";
import { internalError } from "../protocol/errors.ts";
import { OutputBuffer } from "./output_buffer.ts";
import { DenialScanner } from "../sandbox/denied.ts";
import type {
  ClosedNotification,
  ExitedNotification,
  ProcessInfo,
  ProcessReadResult,
  WriteStatus,
} from "../protocol/process.ts";

/** Where a process reports what it produces (its session). */
export interface ProcessObserver {
  /** New output; a returned promise pauses the producer until it settles. */
  processOutput(
    process: ManagedProcess,
    seq: number,
    stream: StreamName,
    data: Uint8Array,
  ): void | Promise<void>;
  /** The process exited. */
  processExited(process: ManagedProcess, params: ExitedNotification): void;
  /** Both streams ended after the exit. */
  processClosed(process: ManagedProcess, params: ClosedNotification): void;
  /** The finished process's retention ran out; its id may be reused. */
  processExpired(process: ManagedProcess): void;
}

/** Timing knobs; tests shrink them. */
export interface ProcessTimings {
  /** How long after exit to wait for the streams to end before reporting the exit. @default {100} */
  exitGraceMs?: number;
  /** SIGTERM → SIGKILL grace for terminate. @default {2000} */
  killGraceMs?: number;
  /** How long a closed process stays readable. @default {30000} */
  retentionMs?: number;
  /** Bytes of output retained. @default {1048576} */
  retainedBytes?: number;
  /**
   * Stdin bytes handed to the process that it has not read yet: a write that
   * would go past this fails (one write is always taken while nothing is
   * waiting), so a process that never reads holds at most this much.
   * @default {16777216}
   */
  maxPendingStdinBytes?: number;
}

/** Static facts about a process. */
export interface ProcessSpec {
  /** Client-chosen id. */
  processId: string;
  /** The argv as requested. */
  argv: string[];
  /** Whether it runs on a terminal. */
  tty: boolean;
  /** Whether stdin is writable. */
  pipeStdin: boolean;
  /** Per-process timeout, or null. */
  timeoutMs: number | null;
}

type Waiter = () => void;

/** Longest time after an exit that steady output may delay reporting it. */
export const MAX_EXIT_DRAIN_MS = 2000;

/** How many recent `writeId`s each process remembers (as codex does). */
export const WRITE_IDS_KEPT = 4096;

/**
 * One process. Created in state `starting`; {@linkcode ManagedProcess.attach}
 * hands it the started child; {@linkcode ManagedProcess.sink} receives the
 * child's events.
 */
export class ManagedProcess {
  /** Static facts. */
  readonly spec: ProcessSpec;
  /** Wall-clock ms at creation. */
  readonly startedAt: number;
  readonly #observer: ProcessObserver;
  readonly #timings: Required<ProcessTimings>;
  readonly #clock: Clock;
  readonly #buffer: OutputBuffer;
  #child: Child | null = null;
  #nextSeq = 1;
  #lastOutputSeq = 0; // seq of the newest output chunk, 0 before any
  #openStreams = new Set<StreamName>();
  #endedStreams = new Set<StreamName>();
  #exitStatus: ExitStatus | null = null; // known from the OS
  #exitSeq: number | null = null; // reported on the wire
  #closedSeq: number | null = null;
  #timedOut = false;
  #terminating = false;
  #stdinClosed: boolean;
  #waiters = new Set<Waiter>();
  #outputTick = 0; // output chunks ever received
  #paused = 0; // output promises not yet settled (backpressure)
  #terminateRequested = false;
  #writes = new Map<string, Promise<WriteStatus>>();
  #stdinPending = 0; // bytes of writes the OS has not taken yet
  #timers = new Set<() => void>(); // cancel functions of pending timers
  #disposed = false;
  #denial: DenialScanner | null = null; // set when the process runs sandboxed
  #denied = false; // the verdict, fixed when the exit is reported
  /** Cancels the `timeoutMs` timer while it is pending. */
  #cancelTimeout: (() => void) | null = null;
  /** Notifications held back until {@linkcode announce}, or null when they go out at once. */
  #held: (() => void)[] | null = null;

  /** Creates a process in state `starting`; `clock` runs its timers. */
  constructor(
    spec: ProcessSpec,
    observer: ProcessObserver,
    timings: ProcessTimings = {},
    clock: Clock = SYSTEM_CLOCK,
  ) {
    this.spec = spec;
    this.#clock = clock;
    this.startedAt = clock.now();
    this.#observer = observer;
    this.#timings = {
      exitGraceMs: timings.exitGraceMs ?? 100,
      killGraceMs: timings.killGraceMs ?? 2000,
      retentionMs: timings.retentionMs ?? 30_000,
      retainedBytes: timings.retainedBytes ?? 1024 * 1024,
      maxPendingStdinBytes: timings.maxPendingStdinBytes ?? 16 * 1024 * 1024,
    };
    this.#buffer = new OutputBuffer({ maxBytes: this.#timings.retainedBytes });
    this.#stdinClosed = !spec.pipeStdin && !spec.tty;
  }

  /** Client-chosen id. */
  get id(): string {
    return this.spec.processId;
  }

  /** OS pid once started. */
  get pid(): number | null {
    return this.#child?.pid ?? null;
  }

  /** Lifecycle state as `process/list` reports it. */
  get state(): ProcessInfo["state"] {
    if (this.#closedSeq !== null) return "closed";
    if (this.#exitSeq !== null) return "exited";
    return this.#child ? "running" : "starting";
  }

  /** True until the child is handed over. */
  get starting(): boolean {
    return this.#child === null;
  }

  /** True while the OS process has not been reaped. */
  get running(): boolean {
    return this.#child !== null && this.#exitStatus === null;
  }

  /** The sink a spawner feeds. Must be passed to the spawner before {@linkcode attach}. */
  readonly sink: ChildSink = {
    output: (stream, data) => this.#onOutput(stream, data),
    end: (stream) => this.#onEnd(stream),
    exit: (status) => this.#onExit(status),
  };

  /**
   * Marks the process as sandboxed (before {@linkcode attach}): its output is
   * scanned, and `sandboxDenied` reports whether the exit looks like the
   * sandbox refused something (see lib/sandbox/denied.ts).
   */
  sandboxed(): void {
    this.#denial ??= new DenialScanner();
  }

  /** Hands over the started child and starts the timeout clock. */
  attach(child: Child): void {
    this.#child = child;
    for (const s of child.streams) {
      if (!this.#endedStreams.has(s)) this.#openStreams.add(s);
    }
    const timeout = this.spec.timeoutMs;
    // Armed even when the leader already exited (a fast one can, before the
    // hand-over): descendants it left are the timeout's business too.
    if (timeout !== null) {
      this.#cancelTimeout = this.#setTimer(() => {
        this.#cancelTimeout = null;
        // A leader that exited may have left descendants (holding the pipes
        // or not): the timeout ends the whole tree while anything is left.
        if (this.#closedSeq !== null && !this.treeAlive()) return;
        if (this.#exitStatus === null) this.#timedOut = true;
        this.#quietly(() => this.terminate());
      }, timeout);
    }
    if (this.#terminateRequested) this.#quietly(() => this.terminate());
    this.#scheduleExitReport();
  }

  /** Runs a signal delivery from a timer or teardown, where nobody can take an error. */
  #quietly(deliver: () => unknown): void {
    try {
      deliver();
    } catch {
      // EPERM (the group changed uid) or similar: nothing more can be done.
    }
  }

  #onOutput(stream: StreamName, data: Uint8Array): void | Promise<void> {
    if (data.byteLength === 0) return;
    const seq = this.#nextSeq++;
    this.#lastOutputSeq = seq;
    this.#denial?.feed(stream, data);
    this.#buffer.push(seq, stream, data);
    this.#outputTick++;
    this.#wake();
    if (this.#held) {
      this.#held.push(() => void this.#observer.processOutput(this, seq, stream, data));
      return;
    }
    const wait = this.#observer.processOutput(this, seq, stream, data);
    if (!wait) return;
    this.#paused++;
    return wait.finally(() => void this.#paused--);
  }

  #onEnd(stream: StreamName): void {
    this.#endedStreams.add(stream);
    this.#openStreams.delete(stream);
    this.#maybeFinish();
  }

  #onExit(status: ExitStatus): void {
    if (this.#exitStatus) return;
    this.#exitStatus = status;
    this.#scheduleExitReport();
  }

  #scheduleExitReport(): void {
    if (!this.#child || !this.#exitStatus) return;
    if (this.#openStreams.size > 0) this.#armExitGrace(0);
    this.#maybeFinish();
  }

  /**
   * Gives the pipes a moment to drain so the exit follows the last byte the
   * process wrote, while a background child holding them open must not stall
   * it: the exit is reported once a grace period passes in which the reader
   * was not paused by backpressure and no output came, or once output kept
   * coming for {@linkcode MAX_EXIT_DRAIN_MS} of unpaused time.
   */
  #armExitGrace(spentMs: number): void {
    const grace = this.#timings.exitGraceMs;
    const tick = this.#outputTick;
    this.#setTimer(() => {
      if (this.#exitSeq !== null) return;
      if (this.#paused > 0) return this.#armExitGrace(spentMs);
      const spent = spentMs + grace;
      if (this.#outputTick !== tick && spent < MAX_EXIT_DRAIN_MS) return this.#armExitGrace(spent);
      this.#reportExit();
    }, grace);
  }

  #maybeFinish(): void {
    if (!this.#child || !this.#exitStatus || this.#openStreams.size > 0) return;
    this.#reportExit();
    if (this.#closedSeq !== null) return;
    this.#closedSeq = this.#nextSeq++;
    this.#wake();
    const closed = { processId: this.id, seq: this.#closedSeq };
    this.#emit(() => this.#observer.processClosed(this, closed));
    // Closed with nothing of the tree left: the timeout has nothing to end.
    if (this.#cancelTimeout && !this.treeAlive()) {
      this.#cancelTimeout();
      this.#cancelTimeout = null;
    }
    this.#setTimer(() => this.#expire(), this.#timings.retentionMs);
  }

  #reportExit(): void {
    const status = this.#exitStatus;
    if (this.#exitSeq !== null || !status) return;
    this.#exitSeq = this.#nextSeq++;
    this.#stdinClosed = true;
    this.#denied = this.#denial?.verdict(status.code) ?? false;
    this.#wake();
    const params: ExitedNotification = {
      processId: this.id,
      seq: this.#exitSeq,
      exitCode: status.code,
      sandboxDenied: this.#denied,
    };
    if (status.signal) params.signal = status.signal;
    if (this.#timedOut) params.timedOut = true;
    this.#emit(() => this.#observer.processExited(this, params));
  }

  #emit(notify: () => void): void {
    if (this.#held) this.#held.push(notify);
    else notify();
  }

  /**
   * Holds the process's notifications (output, exit, close) back until
   * {@linkcode announce}: the start handler calls it so that nothing about a
   * process reaches the client before the response to its `process/start`.
   * (Output read by the FFI reactor can arrive between any two microtasks.)
   */
  hold(): void {
    this.#held ??= [];
  }

  /** Sends the notifications held since {@linkcode hold}, in order, and stops holding. */
  announce(): void {
    const held = this.#held;
    this.#held = null;
    for (const notify of held ?? []) notify();
  }

  #expire(): void {
    this.dispose();
    this.#observer.processExpired(this);
  }

  /**
   * The snapshot `process/read` returns now. `nextSeq` is codex 0.171's: the
   * last returned chunk's seq + 1 when `maxBytes` cut the reply short (newer
   * chunks remain), else the next unassigned seq, which counts the exit and
   * the close, so a reader that got everything learns where those landed.
   */
  snapshot(afterSeq: number, maxBytes: number): ProcessReadResult {
    const slice = this.#buffer.read(afterSeq, maxBytes);
    const last = slice.chunks.at(-1);
    // The buffer always keeps the newest chunk, so a reply ends before the
    // newest output exactly when the byte budget cut it short.
    const cutShort = last !== undefined && last.seq < this.#lastOutputSeq;
    const result: ProcessReadResult = {
      chunks: slice.chunks.map((c) => ({
        seq: c.seq,
        stream: c.stream,
        chunk: c.data.toBase64(),
      })),
      nextSeq: cutShort ? last.seq + 1 : this.#nextSeq,
      exited: this.#exitSeq !== null,
      exitCode: this.#exitSeq !== null ? this.#exitStatus!.code : null,
      closed: this.#closedSeq !== null,
      failure: null,
      sandboxDenied: this.#exitSeq !== null && this.#denied,
    };
    if (slice.gap) result.gap = slice.gap;
    if (this.#exitSeq !== null) {
      result.signal = this.#exitStatus!.signal;
      if (this.#timedOut) result.timedOut = true;
    }
    return result;
  }

  /**
   * Long-poll read: returns at once when there is something the reader has
   * not seen, else waits up to `waitMs` (or until `signal` aborts).
   */
  async read(
    afterSeq: number,
    maxBytes: number,
    waitMs: number,
    signal?: AbortSignal,
  ): Promise<ProcessReadResult> {
    // One deadline for the whole read: changes that are nothing new for this
    // reader (output before afterSeq) wake it without re-arming a timer.
    let expired = waitMs <= 0;
    let wake: Waiter = () => {};
    const cancel = expired ? () => {} : this.#clock.setTimer(() => {
      expired = true;
      wake();
    }, waitMs);
    const abort = () => wake();
    signal?.addEventListener("abort", abort, { once: true });
    try {
      for (;;) {
        const result = this.snapshot(afterSeq, maxBytes);
        if (
          result.chunks.length > 0 || result.closed || result.gap ||
          (result.exited && afterSeq < this.#nextSeq - 1) || expired ||
          signal?.aborted || this.#disposed
        ) {
          return result;
        }
        await new Promise<void>((resolve) => {
          wake = () => {
            this.#waiters.delete(wake);
            resolve();
          };
          this.#waiters.add(wake);
        });
      }
    } finally {
      cancel();
      signal?.removeEventListener("abort", abort);
    }
  }

  /** Resolves on the next change, after `ms` (null: no time limit), or on abort. */
  #waitForChange(ms: number | null, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        cancel();
        this.#waiters.delete(done);
        signal?.removeEventListener("abort", done);
        resolve();
      };
      const cancel = ms === null ? () => {} : this.#clock.setTimer(done, ms);
      this.#waiters.add(done);
      signal?.addEventListener("abort", done, { once: true });
    });
  }

  #wake(): void {
    for (const w of [...this.#waiters]) w();
  }

  /**
   * Writes to stdin, reporting the codex write status. With a `writeId`, a
   * repeat of a recent id (the last {@linkcode WRITE_IDS_KEPT}) gets the first
   * write's result without writing again, so clients can retry a write whose
   * response a dropped connection swallowed.
   */
  write(data: Uint8Array, writeId?: string | null): Promise<WriteStatus> {
    if (writeId === undefined || writeId === null) return this.#write(data);
    const known = this.#writes.get(writeId);
    if (known) return known;
    const result = this.#write(data);
    this.#writes.set(writeId, result);
    if (this.#writes.size > WRITE_IDS_KEPT) {
      this.#writes.delete(this.#writes.keys().next().value!);
    }
    // A write that failed may be retried for real.
    result.catch(() => this.#writes.delete(writeId));
    return result;
  }

  /**
   * Throws the refusal {@linkcode write} would give a write of `byteLength()`
   * bytes (with this `writeId`), before the caller has the bytes: so a write
   * the process has no room for is refused without decoding its base64.
   * `byteLength` is called only when writes are pending (the only time a
   * write is refused); null from it means "unknown", and nothing is thrown.
   */
  refuseEarly(byteLength: () => number | null, writeId?: string | null): void {
    if (writeId !== undefined && writeId !== null && this.#writes.has(writeId)) return;
    if (!this.#child || this.#stdinClosed || this.#stdinPending === 0) return;
    const n = byteLength();
    if (n !== null) this.#refuseIfFull(n);
  }

  #refuseIfFull(byteLength: number): void {
    const limit = this.#timings.maxPendingStdinBytes;
    if (this.#stdinPending > 0 && this.#stdinPending + byteLength > limit) {
      throw internalError(
        `process ${this.id} is not reading its stdin fast enough: ${this.#stdinPending} bytes ` +
          `are still waiting, and ${byteLength} more would pass the limit of ${limit}; ` +
          `retry once it has read them`,
      );
    }
  }

  async #write(data: Uint8Array): Promise<WriteStatus> {
    const child = this.#child;
    if (!child) return "starting";
    if (this.#stdinClosed) return "stdinClosed";
    this.#refuseIfFull(data.byteLength);
    this.#stdinPending += data.byteLength;
    try {
      await child.write(data);
      return "accepted";
    } catch (err) {
      if (err instanceof StdinClosedError) return "stdinClosed";
      throw internalError(
        `failed to write to process stdin: ${messageOf(err)}`,
      );
    } finally {
      this.#stdinPending -= data.byteLength;
    }
  }

  /** Delivers end-of-file to stdin. */
  async closeStdin(): Promise<WriteStatus> {
    const child = this.#child;
    if (!child) return "starting";
    if (this.#stdinClosed) return "stdinClosed";
    this.#stdinClosed = true;
    try {
      await child.closeStdin();
    } catch (err) {
      throw internalError(
        `failed to close process stdin: ${messageOf(err)}`,
      );
    }
    return "accepted";
  }

  /** Sends a signal to the process group if the process still runs. */
  signal(signal: PosixSignal): void {
    if (this.running) this.#child!.signal(signal);
  }

  /**
   * SIGTERM to the process's whole tree (the child and every descendant,
   * also those that left its process group), SIGKILL after the grace period.
   * Acts while anything of the tree is left, even after the leader exited
   * and the process closed. Returns whether the leader was still running.
   */
  terminate(): boolean {
    const child = this.#child;
    if (!child) {
      // Still starting: terminate as soon as the child is handed over.
      if (this.#disposed) return false;
      this.#terminateRequested = true;
      return true;
    }
    const wasRunning = this.#exitStatus === null;
    if (!wasRunning && this.#openStreams.size === 0 && !this.treeAlive()) return false;
    if (this.#terminating) return wasRunning;
    this.#terminating = true;
    // SIGKILL the tree even if the leader exits early: descendants that
    // ignore SIGTERM must not survive a terminate.
    this.#setTimer(() => {
      this.#terminating = false;
      this.kill();
    }, this.#timings.killGraceMs);
    this.#signalTree("SIGTERM");
    return wasRunning;
  }

  /** Whether anything of the tree is alive: the leader, or a descendant where the child can tell. */
  treeAlive(): boolean {
    const child = this.#child;
    if (!child) return false;
    try {
      return child.treeAlive ? child.treeAlive() : this.#exitStatus === null;
    } catch {
      return this.#exitStatus === null;
    }
  }

  #signalTree(signal: PosixSignal): void {
    const child = this.#child!;
    if (child.signalTree) child.signalTree(signal);
    else child.signal(signal);
  }

  /** SIGKILLs the whole tree now (teardown after the grace period); never throws. */
  kill(): void {
    if (this.#child) this.#quietly(() => this.#signalTree("SIGKILL"));
  }

  /**
   * Resolves once the process is closed and nothing of its tree is alive
   * (polled every 25 ms), or when `signal` aborts.
   */
  async whenGone(signal?: AbortSignal): Promise<void> {
    await this.whenClosed(signal);
    while (!signal?.aborted && !this.#disposed && this.treeAlive()) {
      await new Promise<void>((resolve) => {
        const cancel = this.#clock.setTimer(done, 25);
        function done() {
          cancel();
          signal?.removeEventListener("abort", done);
          resolve();
        }
        signal?.addEventListener("abort", done, { once: true });
      });
    }
  }

  /** Changes the terminal size. */
  resize(rows: number, cols: number): void {
    this.#child?.resize({ rows, cols });
  }

  /** The `process/list` entry. */
  info(): ProcessInfo {
    return {
      processId: this.id,
      argv: this.spec.argv,
      pid: this.pid,
      tty: this.spec.tty,
      state: this.state,
      exitCode: this.#exitSeq !== null ? this.#exitStatus!.code : null,
      signal: this.#exitSeq !== null ? this.#exitStatus!.signal : null,
      timedOut: this.#timedOut,
      startedAt: this.startedAt,
      lastSeq: this.#nextSeq - 1,
    };
  }

  /** Resolves once the process is closed (exit known and streams ended). */
  async whenClosed(signal?: AbortSignal): Promise<void> {
    while (this.#closedSeq === null && !this.#disposed && !signal?.aborted) {
      await this.#waitForChange(null, signal);
    }
  }

  #setTimer(fn: () => void, ms: number): () => void {
    const cancel = this.#clock.setTimer(() => {
      this.#timers.delete(cancel);
      fn();
    }, ms);
    this.#timers.add(cancel);
    return () => {
      this.#timers.delete(cancel);
      cancel();
    };
  }

  /**
   * Stops every timer, wakes every reader and releases the child (what is
   * left of its tree is killed: no descendant outlives the process's record).
   * The process keeps no clock alive.
   */
  dispose(): void {
    if (!this.#disposed) this.#quietly(() => this.#child?.release?.());
    this.#disposed = true;
    for (const cancel of this.#timers) cancel();
    this.#timers.clear();
    this.#wake();
  }
}
