// Copyright 2026 the exec-server authors. MIT license.
/**
 * The client's handle on one remote process: its events in strict seq order
 * (pushed notifications pass through a {@linkcode ReorderBuffer}), the
 * process calls, and the catch-up read that rebuilds missed events after a
 * resume or a reordering overflow.
 *
 * @module
 */
import { ConnectionClosedError, ProtocolError } from "./errors.ts";
import type { Caller, CallOptions } from "./rpc.ts";
import { concatBytes, decodeBase64, deferred, encodeBase64, messageOf } from "../util/mod.ts";
import type { ParamsOf, ResultOf } from "../protocol/methods.ts";
import type { Stream, WriteStatus } from "../protocol/wire.ts";
import { ReorderBuffer } from "./reorder_buffer.ts";
import type {
  ClosedEvent,
  ExitedEvent,
  ExitStatus,
  GapEvent,
  OutputEvent,
  ProcessEvent,
  ProcessOutput,
  ReadOptions,
} from "./events.ts";

/** The pushed events the client routes to a handle. */
export type PushedEvent = OutputEvent | ExitedEvent | ClosedEvent;

/** The client-side hooks a handle gives its client (internal). */
export interface ProcessControl {
  /** A pushed event for this process. */
  push(event: PushedEvent): void;
  /**
   * Rebuild missed events with reads from the last delivered seq. Before
   * {@linkcode ProcessControl.started} it is only noted, to run then.
   */
  catchUp(): Promise<void>;
  /** `process/start` succeeded: the server can be read from now on. */
  started(): void;
  /** No more events can arrive: emit a failed event. */
  fail(message: string): void;
}

/** What a handle needs from its client (internal). */
export interface ProcessHost extends Caller {
  /** The client's failure message once it failed or closed, else null. */
  readonly failure: string | null;
  /** Largest forward gap held before reading to fill it. */
  readonly maxReorderGap: number;
  /** Bytes of unread events a handle keeps before dropping the oldest output. */
  readonly maxBufferedBytes: number;
  /** Routes this process's pushed events to `control`. */
  register(processId: string, control: ProcessControl): void;
  /** Stops routing (the handle is finished). */
  unregister(processId: string, control: ProcessControl): void;
}

/**
 * One remote process. Created by `ExecServerClient.start`; it is registered
 * before `process/start` is sent, so no early event is lost.
 *
 * Events are buffered until consumed; iterate {@linkcode ProcessHandle.events}
 * (single consumer) or call {@linkcode ProcessHandle.output}. Unread events
 * are bounded (`maxBufferedBytes` of the client, 16 MiB by default): past it
 * the oldest unread output is dropped and a `gap` event takes its place, so a
 * caller that only awaits `exited` does not keep every byte.
 *
 * @example Streaming
 * ```ts ignore
 * const proc = await client.start({ argv: ["sh", "-c", "echo hi; echo oops >&2"] });
 * for await (const ev of proc.events()) {
 *   if (ev.type === "output") console.log(ev.stream, new TextDecoder().decode(ev.data));
 * }
 * ```
 */
export class ProcessHandle {
  /** The process id (chosen by the client). */
  readonly processId: string;
  /** Resolves when the process exits; rejects if the handle fails first. */
  readonly exited: Promise<ExitStatus>;
  readonly #host: ProcessHost;
  readonly #buffer: ReorderBuffer<PushedEvent>;
  #queue: ProcessEvent[] = [];
  #head = 0; // next unread index of #queue
  #queuedCost = 0; // what the unread events cost (see costOf)
  readonly #shedGaps = new WeakSet<GapEvent>(); // gaps this handle made by dropping output
  readonly #exit = deferred<ExitStatus>();
  readonly #control: ProcessControl;
  #waiters: (() => void)[] = [];
  #done = false;
  #failure: string | null = null;
  #exitKnown = false;
  #closedKnown = false;
  #maxPushed = 0;
  #catching: Promise<void> | null = null;
  #again = false;
  #started = false;
  #catchUpWanted = false;

  /** @internal Use `ExecServerClient.start`. */
  constructor(host: ProcessHost, processId: string) {
    this.processId = processId;
    this.#host = host;
    this.#buffer = new ReorderBuffer({ maxGap: host.maxReorderGap });
    this.exited = this.#exit.promise;
    this.exited.catch(() => {}); // a rejection nobody awaits is not an error
    this.#control = {
      push: (e) => this.#push(e),
      catchUp: () => this.#catchUp(),
      started: () => {
        this.#started = true;
        if (this.#catchUpWanted) void this.#catchUp();
      },
      fail: (m) => this.#fail(m, new ConnectionClosedError(m)),
    };
    host.register(processId, this.#control);
  }

  /** The last delivered seq (0 before the first event). */
  get lastSeq(): number {
    return this.#buffer.next - 1;
  }

  /** True once `closed` or `failed` has been delivered to the queue. */
  get finished(): boolean {
    return this.#done;
  }

  /** The failure message, once the handle failed. */
  get failure(): string | null {
    return this.#failure;
  }

  /**
   * The events, in strict seq order, ending after `closed` or `failed`.
   * Single consumer: iterators share one queue.
   */
  events(): AsyncIterableIterator<ProcessEvent> {
    const next = async (): Promise<IteratorResult<ProcessEvent, undefined>> => {
      for (;;) {
        const event = this.#queue[this.#head];
        if (event) {
          this.#queue[this.#head++] = undefined!;
          this.#queuedCost -= costOf(event);
          if (this.#head === this.#queue.length) {
            this.#queue = [];
            this.#head = 0;
          }
          return { done: false, value: event };
        }
        if (this.#done) return { done: true, value: undefined };
        await new Promise<void>((resolve) => this.#waiters.push(resolve));
      }
    };
    return {
      next,
      return: () => Promise.resolve({ done: true, value: undefined }),
      [Symbol.asyncIterator]() {
        return this;
      },
    };
  }

  /**
   * Collects every event until `closed`: the one-shot convenience.
   *
   * @throws {ConnectionClosedError} when the handle fails first.
   */
  async output(): Promise<ProcessOutput> {
    const parts: Record<Stream, Uint8Array[]> = { stdout: [], stderr: [], pty: [] };
    let status: ExitStatus = { exitCode: -1 };
    let lost = false;
    for await (const ev of this.events()) {
      if (ev.type === "output") parts[ev.stream].push(ev.data);
      else if (ev.type === "exited") status = exitStatusOf(ev);
      else if (ev.type === "gap") lost = true;
      else if (ev.type === "failed") throw new ConnectionClosedError(ev.message);
    }
    return {
      ...status,
      stdout: concatBytes(parts.stdout),
      stderr: concatBytes(parts.stderr),
      pty: concatBytes(parts.pty),
      lost,
    };
  }

  /**
   * `process/read`: retained chunks after `afterSeq` (long-polls with
   * `waitMs`). Once the client has failed it resolves with
   * `{closed: true, failure}` instead of rejecting.
   */
  async read(options: ReadOptions = {}): Promise<ResultOf<"process/read">> {
    const { afterSeq, maxBytes, waitMs, ...callOptions } = options;
    const params: ParamsOf<"process/read"> = { processId: this.processId };
    if (afterSeq !== undefined) params.afterSeq = afterSeq;
    if (maxBytes !== undefined) params.maxBytes = maxBytes;
    if (waitMs !== undefined) params.waitMs = waitMs;
    if (this.#host.failure) return this.#failedRead(this.#host.failure);
    try {
      return await this.#host.call("process/read", params, callOptions);
    } catch (err) {
      if (err instanceof ConnectionClosedError && this.#host.failure) {
        return this.#failedRead(this.#host.failure);
      }
      throw err;
    }
  }

  /**
   * `process/write`: sends bytes (or UTF-8 text) to stdin. Each write carries
   * a fresh `writeId`, so one cut off by a dropped connection is sent again
   * after the resume and the server writes it exactly once.
   */
  async write(data: Uint8Array | string, options?: CallOptions): Promise<WriteStatus> {
    const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
    const r = await this.#host.call(
      "process/write",
      { processId: this.processId, chunk: encodeBase64(bytes), writeId: crypto.randomUUID() },
      options,
    );
    return r.status;
  }

  /** `process/closeStdin`: delivers end-of-file to stdin. */
  async closeStdin(options?: CallOptions): Promise<WriteStatus> {
    return (await this.#host.call("process/closeStdin", { processId: this.processId }, options))
      .status;
  }

  /** `process/terminate`: SIGTERM, then SIGKILL after the server's grace; true if it was running. */
  async terminate(options?: CallOptions): Promise<boolean> {
    return (await this.#host.call("process/terminate", { processId: this.processId }, options))
      .running;
  }

  /** `process/resize`: changes the terminal size of a tty process. */
  async resize(size: { rows: number; cols: number }, options?: CallOptions): Promise<void> {
    await this.#host.call("process/resize", { processId: this.processId, ...size }, options);
  }

  /** `process/signal`: sends a named signal (`interrupt`, `kill`, …). */
  async signal(
    signal: ParamsOf<"process/signal">["signal"],
    options?: CallOptions,
  ): Promise<void> {
    await this.#host.call("process/signal", { processId: this.processId, signal }, options);
  }

  #failedRead(failure: string): ResultOf<"process/read"> {
    return {
      chunks: [],
      nextSeq: this.lastSeq + 1,
      exited: true,
      exitCode: null,
      closed: true,
      failure,
    };
  }

  // -- Delivery --

  #push(event: PushedEvent): void {
    if (this.#done) return;
    this.#maxPushed = Math.max(this.#maxPushed, event.seq);
    const result = this.#buffer.push(event.seq, event);
    if (result === "tooFar") {
      // Too far ahead to hold: read the missing range instead.
      void this.#catchUp();
      return;
    }
    if (result === "accepted") this.#note(event);
    this.#deliver();
  }

  #note(event: PushedEvent): void {
    if (event.type === "exited") this.#exitKnown = true;
    if (event.type === "closed") this.#closedKnown = true;
  }

  #deliver(): void {
    for (const d of this.#buffer.drain()) {
      if (this.#done) return;
      if (d.kind === "lost") {
        const gap: GapEvent = { type: "gap", afterSeq: d.afterSeq, throughSeq: d.throughSeq };
        if (d.bytes !== undefined) gap.bytes = d.bytes;
        this.#emit(gap);
        continue;
      }
      const event = d.item;
      if (event.type === "exited") this.#exit.resolve(exitStatusOf(event));
      this.#emit(event);
      if (event.type === "closed") this.#finish();
    }
  }

  #emit(event: ProcessEvent): void {
    this.#queue.push(event);
    this.#queuedCost += costOf(event);
    if (this.#queuedCost > this.#host.maxBufferedBytes) this.#shed();
    this.#wake();
  }

  /**
   * Nobody reads: drops the oldest unread output down to three quarters of
   * the limit (so that shedding is rare), leaving a gap event in its place,
   * merged with the gap of an earlier shedding when they touch.
   */
  #shed(): void {
    const target = (this.#host.maxBufferedBytes * 3) >> 2;
    const q = this.#queue;
    let i = this.#head;
    while (this.#queuedCost > target) {
      while (i < q.length - 1 && q[i]!.type !== "output") i++;
      if (i >= q.length - 1) return; // keep the newest event whatever it costs
      const first = q[i] as OutputEvent;
      let end = i;
      let bytes = 0;
      while (end < q.length - 1 && q[end]!.type === "output" && this.#queuedCost > target) {
        const ev = q[end] as OutputEvent;
        bytes += ev.data.byteLength;
        this.#queuedCost -= costOf(ev);
        end++;
      }
      const last = q[end - 1] as OutputEvent;
      const before = i > this.#head ? q[i - 1] : undefined;
      if (
        before?.type === "gap" && this.#shedGaps.has(before) && before.throughSeq === first.seq - 1
      ) {
        before.throughSeq = last.seq;
        before.bytes = (before.bytes ?? 0) + bytes;
        q.splice(i, end - i);
      } else {
        const gap: GapEvent = { type: "gap", afterSeq: first.seq - 1, throughSeq: last.seq, bytes };
        this.#shedGaps.add(gap);
        this.#queuedCost += costOf(gap);
        q.splice(i, end - i, gap);
        i++;
      }
    }
  }

  #finish(): void {
    this.#done = true;
    this.#host.unregister(this.processId, this.#control);
    this.#wake();
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
  }

  #fail(message: string, error: Error): void {
    if (this.#done) return;
    this.#failure = message;
    this.#exit.reject(error);
    this.#emit({ type: "failed", message });
    this.#finish();
  }

  // -- Catch-up --

  #catchUp(): Promise<void> {
    if (!this.#started) {
      // A read now could race the start ("process id … is starting").
      this.#catchUpWanted = true;
      return Promise.resolve();
    }
    this.#catchUpWanted = false;
    if (this.#catching) {
      this.#again = true;
      return this.#catching;
    }
    this.#catching = (async () => {
      do {
        this.#again = false;
        await this.#readLoop();
      } while (this.#again && !this.#done);
    })().finally(() => (this.#catching = null));
    return this.#catching;
  }

  async #readLoop(): Promise<void> {
    let cursor = this.lastSeq;
    for (;;) {
      if (this.#done) return;
      let r: ResultOf<"process/read">;
      try {
        r = await this.#host.call("process/read", {
          processId: this.processId,
          afterSeq: cursor,
          waitMs: 0,
        });
      } catch (err) {
        // A lost connection is handled by the next resume or by the failure.
        if (err instanceof ConnectionClosedError) return;
        const message = `Cannot recover events of process ${this.processId}: ${messageOf(err)}`;
        return this.#fail(message, new ProtocolError(message, { cause: err }));
      }
      if (this.#done) return;
      if (r.gap) this.#buffer.markLost(r.gap.afterSeq, r.gap.throughSeq, r.gap.bytes);
      for (const c of r.chunks) {
        const event: OutputEvent = {
          type: "output",
          seq: c.seq,
          stream: c.stream,
          data: decodeBase64(c.chunk),
        };
        this.#buffer.push(c.seq, event, true);
      }
      const last = r.chunks.at(-1)?.seq;
      const problem = this.#placeTerminal(r, last ?? r.nextSeq - 1, last === undefined);
      this.#deliver();
      if (problem) return this.#fail(problem, new ProtocolError(problem));
      if (last === undefined) return;
      cursor = Math.max(cursor, last);
      if (this.#buffer.held === 0 && this.#maxPushed >= cursor) return;
    }
  }

  /**
   * Exit and close events have seqs but are not chunks: a read shows them as
   * seqs no chunk fills. Puts the ones nobody pushed in place; returns a
   * message when the read does not add up.
   */
  #placeTerminal(r: ResultOf<"process/read">, upTo: number, final: boolean): string | null {
    if (final && r.closed && !this.#closedKnown) {
      const seq = r.nextSeq - 1;
      if (this.#buffer.push(seq, { type: "closed", seq }, true) !== "accepted") {
        return `Cannot recover events of process ${this.processId}: closed seq ${seq} is taken`;
      }
      this.#closedKnown = true;
    }
    const missing = this.#buffer.missing(upTo, 3);
    if (r.exited && !this.#exitKnown && missing.length === 1) {
      const seq = missing.pop()!;
      const event: ExitedEvent = { type: "exited", seq, exitCode: r.exitCode ?? -1 };
      if (r.signal) event.signal = r.signal;
      if (r.timedOut) event.timedOut = true;
      if (r.sandboxDenied) event.sandboxDenied = true;
      this.#buffer.push(seq, event, true);
      this.#exitKnown = true;
    } else if (r.exited && !this.#exitKnown && final && missing.length === 0) {
      // The exit's seq fell inside an evicted range: the gap event covers it.
      this.#exitKnown = true;
      const status: ExitStatus = { exitCode: r.exitCode ?? -1 };
      if (r.signal) status.signal = r.signal;
      if (r.timedOut) status.timedOut = true;
      if (r.sandboxDenied) status.sandboxDenied = true;
      this.#exit.resolve(status);
    }
    if (missing.length === 0) return null;
    return `Cannot recover events of process ${this.processId}: seqs ${
      missing.join(", ")
    } are missing from the server's read (nextSeq ${r.nextSeq})`;
  }
}

function exitStatusOf(event: ExitedEvent): ExitStatus {
  const status: ExitStatus = { exitCode: event.exitCode };
  if (event.signal !== undefined) status.signal = event.signal;
  if (event.timedOut !== undefined) status.timedOut = event.timedOut;
  if (event.sandboxDenied !== undefined) status.sandboxDenied = event.sandboxDenied;
  return status;
}

/** What an unread event costs the client: its bytes, and a little for the event itself. */
function costOf(event: ProcessEvent): number {
  return 256 + (event.type === "output" ? event.data.byteLength : 0);
}
