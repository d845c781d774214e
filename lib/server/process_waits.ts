// Copyright 2026 the exec-server authors. MIT license.
/**
 * What a managed process's waits run on: {@linkcode Changes}, where readers
 * wait for the next change with one deadline each, and {@linkcode Timers},
 * the process's own timers, which it cancels together when it is disposed.
 * Runtime-neutral: both run on an injected {@linkcode Clock}.
 *
 * @module
 */
import type { Clock } from "../util/clock.ts";

/**
 * Waiters for a change of something (a process's output, exit or close).
 *
 * @example
 * ```ts
 * import { Changes } from "./process_waits.ts";
 * import { SYSTEM_CLOCK } from "../util/clock.ts";
 * import assert from "node:assert/strict";
 * const changes = new Changes(SYSTEM_CLOCK);
 * let count = 0;
 * const waiting = changes.until(() => count >= 2, 10_000);
 * count = 1;
 * changes.wake();
 * count = 2;
 * changes.wake();
 * assert.equal(await waiting, true);
 * assert.equal(await changes.until(() => false, 0), false, "no wait at all");
 * ```
 */
export class Changes {
  readonly #clock: Clock;
  #waiters = new Set<() => void>();

  /** Waiters whose deadlines run on `clock`. */
  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** Wakes every waiter (each checks its condition again). */
  wake(): void {
    for (const w of [...this.#waiters]) w();
  }

  /**
   * Resolves true once `done()` holds (checked now, after every
   * {@linkcode wake}, and every `pollMs` if given, for what no change
   * announces), false when `waitMs` passed first (null: no time limit) or
   * `signal` aborted. One deadline for the whole wait, however many wakes it
   * sees.
   */
  async until(
    done: () => boolean,
    waitMs: number | null,
    signal?: AbortSignal,
    pollMs?: number,
  ): Promise<boolean> {
    if (done()) return true;
    let expired = waitMs !== null && waitMs <= 0;
    if (expired || signal?.aborted) return false;
    let wake = () => {};
    const cancel = waitMs === null ? () => {} : this.#clock.setTimer(() => {
      expired = true;
      wake();
    }, waitMs);
    const abort = () => wake();
    signal?.addEventListener("abort", abort, { once: true });
    try {
      for (;;) {
        await new Promise<void>((resolve) => {
          const poll = pollMs === undefined ? () => {} : this.#clock.setTimer(() => wake(), pollMs);
          wake = () => {
            poll();
            this.#waiters.delete(wake);
            resolve();
          };
          this.#waiters.add(wake);
        });
        if (done()) return true;
        if (expired || signal?.aborted) return false;
      }
    } finally {
      cancel();
      signal?.removeEventListener("abort", abort);
    }
  }
}

/** Timers that can be cancelled all at once. */
export class Timers {
  readonly #clock: Clock;
  #cancels = new Set<() => void>();

  /** Timers on `clock`. */
  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** Runs `fn` after `ms`; returns its cancel function. */
  set(fn: () => void, ms: number): () => void {
    const cancel = this.#clock.setTimer(() => {
      this.#cancels.delete(cancel);
      fn();
    }, ms);
    this.#cancels.add(cancel);
    return () => {
      this.#cancels.delete(cancel);
      cancel();
    };
  }

  /** Cancels every pending timer. */
  cancelAll(): void {
    for (const cancel of this.#cancels) cancel();
    this.#cancels.clear();
  }
}
