// Copyright 2026 the exec-server authors. MIT license.
/**
 * The in-flight limit of one connection: requests run at most so many at
 * once, the rest wait in arrival order, and the edge is told to stop reading
 * while the queue is full. Runtime-neutral (the clock is injected).
 *
 * @module
 */
import type { Clock } from "../util/clock.ts";

/** Options for {@linkcode RequestQueue}. */
export interface RequestQueueOptions {
  /** Requests run at once (at least 1). */
  maxInFlight: number;
  /** Bytes of waiting requests at which the queue is full (whatever their number). */
  maxWaitingBytes: number;
  /** The clock of the slice timer. */
  clock: Clock;
}

/** How long requests may start back to back before yielding to the event loop, in ms. */
const SLICE_MS = 4;

interface Waiting {
  size: number;
  run: () => Promise<unknown>;
  done: (value: unknown) => void;
}

/**
 * Runs requests under an in-flight limit, in arrival order.
 *
 * @example
 * ```ts
 * import { RequestQueue } from "./request_queue.ts";
 * import { SYSTEM_CLOCK } from "../util/clock.ts";
 * import assert from "node:assert/strict";
 * const queue = new RequestQueue({ maxInFlight: 1, maxWaitingBytes: 1024, clock: SYSTEM_CLOCK });
 * const first = Promise.withResolvers<string>();
 * const a = queue.admit(10, () => first.promise);
 * const b = queue.admit(10, () => Promise.resolve("b"));
 * assert.ok(queue.ready() instanceof Promise, "one waits for the one slot: the edge holds");
 * first.resolve("a");
 * assert.deepEqual(await Promise.all([a, b]), ["a", "b"]);
 * assert.equal(queue.ready(), undefined);
 * ```
 */
export class RequestQueue {
  readonly #options: RequestQueueOptions;
  #running = 0;
  #waiting: Waiting[] = [];
  #waitingBytes = 0;
  #ready: { promise: Promise<void>; resolve: () => void } | null = null;
  #sliceStart = 0;
  #nextScheduled = false;
  #closed = false;

  /** A queue with no request yet. */
  constructor(options: RequestQueueOptions) {
    this.#options = { ...options, maxInFlight: Math.max(1, options.maxInFlight) };
  }

  /**
   * Runs `run` now if a slot is free, else when one frees up, in arrival
   * order; resolves with its result, or with null if the queue was closed
   * before it ran. `run` must not reject. `size` is the request's size in
   * bytes, which counts while it waits.
   */
  admit<T>(size: number, run: () => Promise<T>): Promise<T | null> {
    if (this.#closed) return Promise.resolve(null);
    if (this.#running < this.#options.maxInFlight) return this.#run(run);
    return new Promise((done) => {
      this.#waiting.push({ size, run, done: done as (value: unknown) => void });
      this.#waitingBytes += size;
    });
  }

  /**
   * Resolves once the edge may read the next message: while as many
   * requests wait as may run, or they hold `maxWaitingBytes`, the edge
   * should stop reading, so that a client's burst waits in its own socket
   * rather than in the server's memory. Undefined when there is room.
   */
  ready(): Promise<void> | undefined {
    if (this.#closed || !this.#full()) return undefined;
    this.#ready ??= Promise.withResolvers<void>();
    return this.#ready.promise;
  }

  /** Drops the waiting requests (they never ran: each resolves null) and releases the edge. */
  close(): void {
    this.#closed = true;
    for (const w of this.#waiting.splice(0)) w.done(null);
    this.#waitingBytes = 0;
    this.#releaseReady();
  }

  #full(): boolean {
    return this.#waiting.length >= this.#options.maxInFlight ||
      (this.#waiting.length > 0 && this.#waitingBytes >= this.#options.maxWaitingBytes);
  }

  #releaseReady(): void {
    if (this.#ready && (this.#closed || !this.#full())) {
      this.#ready.resolve();
      this.#ready = null;
    }
  }

  async #run<T>(run: () => Promise<T>): Promise<T> {
    this.#running++;
    try {
      return await run();
    } finally {
      this.#running--;
      this.#next();
    }
  }

  /**
   * Starts waiting requests while slots are free. A request that finishes
   * at once (a spawn is synchronous) starts the next in the same microtask
   * chain, which would keep every other connection's I/O waiting; so after
   * {@linkcode SLICE_MS} of such a chain the rest starts from a timer,
   * letting the event loop run in between.
   */
  #next(): void {
    const clock = this.#options.clock;
    const now = clock.now();
    if (now - this.#sliceStart >= SLICE_MS) {
      this.#sliceStart = now;
      if (this.#waiting.length > 0 && !this.#nextScheduled) {
        this.#nextScheduled = true;
        clock.setTimer(() => {
          this.#nextScheduled = false;
          this.#sliceStart = clock.now();
          this.#next();
        }, 0);
        return;
      }
    }
    if (this.#nextScheduled) return;
    while (
      !this.#closed && this.#running < this.#options.maxInFlight && this.#waiting.length > 0
    ) {
      const w = this.#waiting.shift()!;
      this.#waitingBytes -= w.size;
      this.#run(w.run).then(w.done, () => w.done(null));
    }
    this.#releaseReady();
  }
}
