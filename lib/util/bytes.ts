// Copyright 2026 the exec-server authors. MIT license.
/**
 * Bytes: base64 that works on Deno and on Node 20 (which lacks
 * `Uint8Array.fromBase64`), and concatenation.
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
 * import { encodeBase64 } from "./bytes.ts";
 * import assert from "node:assert/strict";
 * assert.equal(encodeBase64(new TextEncoder().encode("hi")), "aGk=");
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
 * import { decodeBase64 } from "./bytes.ts";
 * import assert from "node:assert/strict";
 * assert.equal(new TextDecoder().decode(decodeBase64("aGk=")), "hi");
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
 * import { concatBytes } from "./bytes.ts";
 * import assert from "node:assert/strict";
 * assert.equal(concatBytes([new Uint8Array([1]), new Uint8Array([2])]).length, 2);
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

const lenientUtf8 = new TextDecoder();
const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Decodes UTF-8, throwing a TypeError on invalid input. A fatal
 * `TextDecoder` is about fifteen times slower than a lenient one on ASCII
 * (measured: 1.3 GB/s against 21 GB/s), so the bytes are decoded leniently
 * and checked strictly only when the result holds a U+FFFD, which is what
 * a lenient decoder puts in place of an invalid sequence.
 *
 * @example
 * ```ts
 * import { decodeUtf8 } from "./bytes.ts";
 * import assert from "node:assert/strict";
 * assert.equal(decodeUtf8(new Uint8Array([104, 0xc3, 0xa9])), "hé");
 * assert.equal(decodeUtf8(new Uint8Array([0xef, 0xbf, 0xbd])), "\ufffd");
 * assert.throws(() => decodeUtf8(new Uint8Array([0xff])), TypeError);
 * ```
 */
export function decodeUtf8(bytes: Uint8Array): string {
  const text = lenientUtf8.decode(bytes);
  return text.includes("\ufffd") ? strictUtf8.decode(bytes) : text;
}

/**
 * How many bytes a base64 string decodes to, without decoding it: exact for
 * well-formed base64 without whitespace (what JSON clients send), `null`
 * when the string holds whitespace (which `Uint8Array.fromBase64` skips) or
 * has a length no base64 can have. It only reads the string.
 *
 * @example
 * ```ts
 * import { base64ByteLength } from "./bytes.ts";
 * import assert from "node:assert/strict";
 * assert.equal(base64ByteLength("YWJj"), 3);
 * assert.equal(base64ByteLength("YQ=="), 1);
 * assert.equal(base64ByteLength("YWI"), 2);
 * assert.equal(base64ByteLength(""), 0);
 * assert.equal(base64ByteLength("YW Jj"), null);
 * assert.equal(base64ByteLength("YWJjZ"), null);
 * ```
 */
export function base64ByteLength(text: string): number | null {
  if (/[\t\n\f\r ]/.test(text)) return null;
  let end = text.length;
  if (end % 4 === 0 && text.endsWith("=")) end -= text.endsWith("==") ? 2 : 1;
  if (end % 4 === 1) return null;
  return Math.floor((end * 3) / 4);
}
