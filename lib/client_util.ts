// Copyright 2026 the exec-server authors. MIT license.
/**
 * Small runtime-neutral helpers for the client: base64 that works on Deno and
 * on Node 20 (which lacks `Uint8Array.fromBase64`), byte concatenation, and
 * an abortable delay.
 *
 * @module
 */

interface Base64Bytes {
  toBase64?: () => string;
}
interface Base64Ctor {
  fromBase64?: (s: string) => Uint8Array;
}
interface NodeBuffer {
  from(data: ArrayBufferLike, offset: number, length: number): { toString(enc: string): string };
  from(data: string, enc: string): Uint8Array;
}

function nodeBuffer(): NodeBuffer | undefined {
  return (globalThis as { Buffer?: NodeBuffer }).Buffer;
}

/**
 * Encodes bytes as standard base64.
 *
 * @example
 * ```ts
 * import { encodeBase64 } from "./client_util.ts";
 * console.assert(encodeBase64(new TextEncoder().encode("hi")) === "aGk=");
 * ```
 */
export function encodeBase64(bytes: Uint8Array): string {
  const native = (bytes as Base64Bytes).toBase64;
  if (typeof native === "function") return native.call(bytes);
  const buffer = nodeBuffer();
  if (buffer) {
    return buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64");
  }
  let binary = "";
  for (let i = 0; i < bytes.byteLength; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

/**
 * Decodes standard base64.
 *
 * @example
 * ```ts
 * import { decodeBase64 } from "./client_util.ts";
 * console.assert(new TextDecoder().decode(decodeBase64("aGk=")) === "hi");
 * ```
 */
export function decodeBase64(text: string): Uint8Array {
  const native = (Uint8Array as Base64Ctor).fromBase64;
  if (typeof native === "function") return native(text);
  const buffer = nodeBuffer();
  if (buffer) {
    const b = buffer.from(text, "base64");
    return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  }
  const binary = atob(text);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

/**
 * Concatenates byte arrays.
 *
 * @example
 * ```ts
 * import { concatBytes } from "./client_util.ts";
 * console.assert(concatBytes([new Uint8Array([1]), new Uint8Array([2])]).length === 2);
 * ```
 */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  let size = 0;
  for (const p of parts) size += p.byteLength;
  const out = new Uint8Array(size);
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.byteLength;
  }
  return out;
}

/**
 * Resolves after `ms`, or at once when `signal` aborts (never rejects).
 *
 * @example
 * ```ts
 * import { delay } from "./client_util.ts";
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
 * A readable message for any thrown value.
 *
 * @example
 * ```ts
 * import { messageOf } from "./client_util.ts";
 * console.assert(messageOf(new Error("x")) === "x" && messageOf(3) === "3");
 * ```
 */
export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * A promise with its settle functions (Node 20 lacks `Promise.withResolvers`).
 *
 * @example
 * ```ts
 * import { deferred } from "./client_util.ts";
 * const d = deferred<number>();
 * d.resolve(1);
 * console.assert(await d.promise === 1);
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
 * import { unrefTimer } from "./client_util.ts";
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
