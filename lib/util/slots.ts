// Copyright 2026 the exec-server authors. MIT license.
/**
 * A counting semaphore: at most `size` holders at once, the rest wait in
 * arrival order.
 *
 * @module
 */

/**
 * At most `size` holders at once; later ones wait in arrival order. The
 * server uses it for work that holds much memory each (whole-file reads of a
 * session, big HTTP bodies of a connection).
 *
 * @example
 * ```ts
 * import { Slots } from "./slots.ts";
 * import assert from "node:assert/strict";
 * const slots = new Slots(1);
 * const release = await slots.acquire();
 * let second = false;
 * const waiting = slots.run(async () => {
 *   second = true;
 * });
 * await Promise.resolve();
 * assert.equal(second, false); // the only slot is taken
 * release();
 * await waiting;
 * assert.equal(second, true);
 * ```
 */
export class Slots {
  #free: number;
  readonly #waiting: (() => void)[] = [];

  /** Creates `size` free slots. */
  constructor(size: number) {
    this.#free = size;
  }

  /**
   * Takes a slot, waiting for one if none is free; resolves with its release
   * (idempotent). When `signal` aborts while it waits, it rejects with the
   * signal's reason and takes no slot.
   */
  async acquire(signal?: AbortSignal): Promise<() => void> {
    if (this.#free > 0) this.#free--;
    else {
      if (signal?.aborted) throw signal.reason;
      await new Promise<void>((resolve, reject) => {
        const grant = () => {
          signal?.removeEventListener("abort", abort);
          resolve();
        };
        const abort = () => {
          const i = this.#waiting.indexOf(grant);
          if (i >= 0) this.#waiting.splice(i, 1);
          reject(signal!.reason);
        };
        signal?.addEventListener("abort", abort, { once: true });
        this.#waiting.push(grant);
      });
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.#waiting.shift();
      if (next) next();
      else this.#free++;
    };
  }

  /** Runs `fn` holding a slot, and releases it however `fn` ends. */
  async run<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    const release = await this.acquire(signal);
    try {
      return await fn();
    } finally {
      release();
    }
  }
}
