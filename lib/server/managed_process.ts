// Copyright 2026 the exec-server authors. MIT license.
/**
 * The state machine of one process as the protocol sees it: sequence numbers,
 * retained output, exit and close ordering, long-poll reads, timeouts. Its
 * parts: the spec, timings and observer (process_spec.ts), stdin
 * (process_stdin.ts), the tree's signals (process_signals.ts), and the waits
 * and timers (process_waits.ts). Runtime-neutral: the OS side is a
 * {@linkcode Child}, and every timer (timeout, exit grace, kill grace,
 * retention, long-poll waits) runs on an injected {@linkcode Clock}.
 *
 * @module
 */
import { type Clock, SYSTEM_CLOCK } from "../util/clock.ts";
import type { Child, ChildSink, ExitStatus, PosixSignal, StreamName } from "../process/child.ts";
import { OutputBuffer } from "./output_buffer.ts";
import { DenialScanner } from "../sandbox/denied.ts";
import type {
  ExitedNotification,
  ProcessInfo,
  ProcessReadResult,
  WriteStatus,
} from "../protocol/process.ts";
import {
  type ProcessObserver,
  type ProcessSpec,
  type ProcessTimings,
  withDefaults,
} from "./process_spec.ts";
import { ProcessStdin } from "./process_stdin.ts";
import { Changes, Timers } from "./process_waits.ts";
import { quietly, TreeSignals } from "./process_signals.ts";

export type { ProcessObserver, ProcessSpec, ProcessTimings } from "./process_spec.ts";
export { WRITE_IDS_KEPT } from "./process_stdin.ts";

/** Longest time after an exit that steady output may delay reporting it. */
export const MAX_EXIT_DRAIN_MS = 2000;

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
  readonly #stdin: ProcessStdin;
  readonly #changes: Changes;
  #outputTick = 0; // output chunks ever received
  #paused = 0; // output promises not yet settled (backpressure)
  readonly #timers: Timers;
  readonly #signals: TreeSignals;
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
    this.startedAt = clock.now();
    this.#observer = observer;
    this.#changes = new Changes(clock);
    this.#timers = new Timers(clock);
    this.#timings = withDefaults(timings);
    this.#signals = new TreeSignals(
      {
        child: () => this.#child,
        leaderRunning: () => this.#exitStatus === null,
        streamsOpen: () => this.#openStreams.size > 0,
        disposed: () => this.#disposed,
      },
      this.#timers,
      this.#timings.killGraceMs,
    );
    this.#buffer = new OutputBuffer({ maxBytes: this.#timings.retainedBytes });
    const noStdin = !spec.pipeStdin && !spec.tty;
    const maxPending = this.#timings.maxPendingStdinBytes;
    this.#stdin = new ProcessStdin(spec.processId, () => this.#child, noStdin, maxPending);
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
      this.#cancelTimeout = this.#timers.set(() => {
        this.#cancelTimeout = null;
        // A leader that exited may have left descendants (holding the pipes
        // or not): the timeout ends the whole tree while anything is left.
        if (this.#closedSeq !== null && !this.treeAlive()) return;
        if (this.#exitStatus === null) this.#timedOut = true;
        quietly(() => this.terminate());
      }, timeout);
    }
    if (this.#signals.requested) quietly(() => this.terminate());
    this.#scheduleExitReport();
  }

  #onOutput(stream: StreamName, data: Uint8Array): void | Promise<void> {
    if (data.byteLength === 0) return;
    const seq = this.#nextSeq++;
    this.#lastOutputSeq = seq;
    this.#denial?.feed(stream, data);
    this.#buffer.push(seq, stream, data);
    this.#outputTick++;
    this.#changes.wake();
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
    this.#timers.set(() => {
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
    this.#changes.wake();
    const closed = { processId: this.id, seq: this.#closedSeq };
    this.#emit(() => this.#observer.processClosed(this, closed));
    // Closed with nothing of the tree left: the timeout has nothing to end.
    if (this.#cancelTimeout && !this.treeAlive()) {
      this.#cancelTimeout();
      this.#cancelTimeout = null;
    }
    this.#timers.set(() => this.#expire(), this.#timings.retentionMs);
  }

  #reportExit(): void {
    const status = this.#exitStatus;
    if (this.#exitSeq !== null || !status) return;
    this.#exitSeq = this.#nextSeq++;
    this.#stdin.markClosed();
    this.#denied = this.#denial?.verdict(status.code) ?? false;
    this.#changes.wake();
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
   * not seen, else waits up to `waitMs` (or until `signal` aborts), with one
   * deadline however many changes that are nothing new to it (output before
   * `afterSeq`) wake it.
   */
  async read(
    afterSeq: number,
    maxBytes: number,
    waitMs: number,
    signal?: AbortSignal,
  ): Promise<ProcessReadResult> {
    let result: ProcessReadResult | undefined;
    const news = () => {
      result = this.snapshot(afterSeq, maxBytes);
      return this.#disposed || result.chunks.length > 0 || result.closed ||
        result.gap !== undefined || (result.exited && afterSeq < this.#nextSeq - 1);
    };
    if (await this.#changes.until(news, waitMs, signal)) return result!;
    return this.snapshot(afterSeq, maxBytes);
  }

  /** Writes to stdin, with codex's statuses (see {@linkcode ProcessStdin.write}). */
  write(data: Uint8Array, writeId?: string | null): Promise<WriteStatus> {
    return this.#stdin.write(data, writeId);
  }

  /** Refuses a write there is no room for before its bytes are decoded (see {@linkcode ProcessStdin.refuseEarly}). */
  refuseEarly(byteLength: () => number | null, writeId?: string | null): void {
    this.#stdin.refuseEarly(byteLength, writeId);
  }

  /** Delivers end-of-file to stdin. */
  closeStdin(): Promise<WriteStatus> {
    return this.#stdin.close();
  }

  /** Sends a signal to the process group if the process still runs. */
  signal(signal: PosixSignal): void {
    if (this.running) this.#child!.signal(signal);
  }

  /** SIGTERM to the whole tree, SIGKILL after the grace period (see {@linkcode TreeSignals.terminate}). */
  terminate(): boolean {
    return this.#signals.terminate();
  }

  /** Whether anything of the tree is alive: the leader, or a descendant where the child can tell. */
  treeAlive(): boolean {
    return this.#signals.alive();
  }

  /** SIGKILLs the whole tree now (teardown after the grace period); never throws. */
  kill(): void {
    this.#signals.kill();
  }

  /**
   * Resolves once the process is closed and nothing of its tree is alive
   * (polled every 25 ms), or when `signal` aborts.
   */
  async whenGone(signal?: AbortSignal): Promise<void> {
    await this.whenClosed(signal);
    await this.#changes.until(() => this.#disposed || !this.treeAlive(), null, signal, 25);
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
    await this.#changes.until(() => this.#closedSeq !== null || this.#disposed, null, signal);
  }

  /**
   * Stops every timer, wakes every reader and releases the child (what is
   * left of its tree is killed: no descendant outlives the process's record).
   * The process keeps no clock alive.
   */
  dispose(): void {
    if (!this.#disposed) quietly(() => this.#child?.release?.());
    this.#disposed = true;
    this.#timers.cancelAll();
    this.#changes.wake();
  }
}
