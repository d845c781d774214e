// Copyright 2026 the exec-server authors. MIT license.
/**
 * Timing helpers that work on Deno and Node: an abortable delay, a deferred
 * promise, and timers that do not keep the process alive.
 *
 * @module
 */

/**
 * Resolves after `ms`, or at once when `signal` aborts (never rejects).
 *
 * @example
 * ```ts
 * import { delay } from "./async.ts";
 * await delay(1);
 * ```
 */
export function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, Math.max(0, ms));
    signal?.addEventListener("abort", done, { once: true });
  });
}

/**
 * A promise with its settle functions (Node 20 lacks `Promise.withResolvers`).
 *
 * @example
 * ```ts
 * import { deferred } from "./async.ts";
 * import assert from "node:assert/strict";
 * const d = deferred<number>();
 * d.resolve(1);
 * assert.equal(await d.promise, 1);
 * ```
 */
export function deferred<T>(): {
  promise: Promise<T>;
  resolve: (value: T) => void;
  reject: (reason: unknown) => void;
} {
  let resolve!: (value: T) => void;
  let reject!: (reason: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/**
 * Lets a timer not keep the process alive (Deno and Node).
 *
 * @example
 * ```ts
 * import { unrefTimer } from "./async.ts";
 * const id = setInterval(() => {}, 1000);
 * unrefTimer(id);
 * clearInterval(id);
 * ```
 */
export function unrefTimer(id: ReturnType<typeof setInterval>): void {
  const deno = (globalThis as { Deno?: { unrefTimer?: (id: number) => void } }).Deno;
  if (typeof id === "number") deno?.unrefTimer?.(id);
  else (id as { unref?: () => void }).unref?.();
}
