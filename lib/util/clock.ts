// Copyright 2026 the exec-server authors. MIT license.
/**
 * Injected time: every timeout, grace period, retention and expiry in the
 * server reads the time and sets its timers through a {@linkcode Clock}, so
 * unit tests advance a manual clock instead of sleeping.
 *
 * @module
 */

/** A time source with one-shot timers. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Calls `fn` once after `ms`; returns a function that cancels it (idempotent). */
  setTimer(fn: () => void, ms: number): () => void;
}

/** Longest delay a platform timer takes (about 24.8 days); longer ones are capped. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * The real clock: `Date.now` and `setTimeout`.
 *
 * @example
 * ```ts
 * import { SYSTEM_CLOCK } from "./clock.ts";
 * import assert from "node:assert/strict";
 * const fired = await new Promise<boolean>((resolve) => {
 *   SYSTEM_CLOCK.setTimer(() => resolve(false), 1)();
 *   SYSTEM_CLOCK.setTimer(() => resolve(true), 1);
 * });
 * assert.equal(fired, true, "the cancelled timer never fires");
 * ```
 */
export const SYSTEM_CLOCK: Clock = {
  now: () => Date.now(),
  setTimer(fn, ms) {
    const id = setTimeout(fn, Math.min(Math.max(0, ms), MAX_TIMER_MS));
    return () => clearTimeout(id);
  },
};

/** A signal that aborts after a time on a clock; disposing it cancels the timer. */
export interface TimeoutSignal extends Disposable {
  /** Aborts (with no reason given) once the time is up. */
  readonly signal: AbortSignal;
}

/**
 * {@linkcode AbortSignal.timeout} on an injected clock.
 *
 * @example
 * ```ts
 * import { SYSTEM_CLOCK, timeoutSignal } from "./clock.ts";
 * import assert from "node:assert/strict";
 * using grace = timeoutSignal(SYSTEM_CLOCK, 60_000);
 * assert.equal(grace.signal.aborted, false);
 * ```
 */
export function timeoutSignal(clock: Clock, ms: number): TimeoutSignal {
  const controller = new AbortController();
  const cancel = clock.setTimer(() => controller.abort(), ms);
  return { signal: controller.signal, [Symbol.dispose]: cancel };
}
