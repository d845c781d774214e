// Copyright 2026 the exec-server authors. MIT license.
/**
 * RFC 6455 framing for the server side of a WebSocket, without I/O: a reader
 * that pulls client frames from any byte source, checks them (masking,
 * opcodes, control-frame rules, fragmentation) and enforces the message
 * limit on the whole message, however it is fragmented, before buffering
 * past it; and the header of a server frame.
 *
 * @module
 */

/** WebSocket opcodes. */
export const Opcode = {
  /** Continuation of a fragmented message. */
  Continuation: 0x0,
  /** Text message (UTF-8). */
  Text: 0x1,
  /** Binary message. */
  Binary: 0x2,
  /** Close. */
  Close: 0x8,
  /** Ping. */
  Ping: 0x9,
  /** Pong. */
  Pong: 0xa,
} as const;

/** Where a {@linkcode FrameReader} reads from (a `Deno.Conn` fits). */
export interface ByteSource {
  /** Reads into `p`; resolves with the count, or null at end of stream. */
  read(p: Uint8Array): Promise<number | null>;
}

/** What {@linkcode FrameReader.next} found. */
export type FrameEvent =
  /** A whole message; `data` is valid until the next call to `next()`. */
  | { type: "message"; binary: boolean; data: Uint8Array }
  /** A ping or pong with its payload (valid until the next call). */
  | { type: "ping" | "pong"; data: Uint8Array }
  /** The peer's close frame: its code (null when it sent none) and reason. */
  | { type: "close"; code: number | null; reason: string }
  /** The peer broke the protocol or the limit: close with `code`. */
  | { type: "error"; code: number; reason: string }
  /** End of stream. */
  | { type: "end" };

/** Options for {@linkcode FrameReader}. */
export interface FrameReaderOptions {
  /** Largest message, summed over its fragments. @default {16777216} */
  maxMessageBytes?: number;
  /** Bytes already read from the source (after the HTTP request head). @default {empty} */
  initial?: Uint8Array;
  /** Size of the read buffer; bigger payloads are read straight into their own. @default {65536} */
  bufferBytes?: number;
}

const fatalUtf8 = new TextDecoder("utf-8", { fatal: true });

/** Largest payload read into the reader's reused array rather than one of its own. */
const LARGE_KEEP_BYTES = 4 * 1024 * 1024;
const scratch = new Uint8Array(4);
const scratchWord = new Uint32Array(scratch.buffer);

/**
 * XORs `data` in place with the 4-byte masking `key`, a 32-bit word at a
 * time where the bytes are aligned (four times fewer steps than bytewise).
 * `words`, when given, is a `Uint32Array` over `data`'s whole buffer from
 * its start (the reader keeps one over its read buffer), so that no view is
 * made per call.
 *
 * @example
 * ```ts
 * import { unmask } from "./ws_frames.ts";
 * import assert from "node:assert/strict";
 * const key = new Uint8Array([1, 2, 3, 4]);
 * const data = new Uint8Array([1 ^ 9, 2 ^ 8, 3 ^ 7, 4 ^ 6, 1 ^ 5]);
 * unmask(data, key);
 * assert.deepEqual([...data], [9, 8, 7, 6, 5]);
 * ```
 */
export function unmask(data: Uint8Array, key: Uint8Array, words32?: Uint32Array): void {
  const n = data.byteLength;
  let i = 0;
  const lead = Math.min(n, (4 - (data.byteOffset & 3)) & 3);
  for (; i < lead; i++) data[i]! ^= key[i & 3]!;
  const words = (n - i) >> 2;
  if (words > 0) {
    for (let k = 0; k < 4; k++) scratch[k] = key[(i + k) & 3]!;
    const mask = scratchWord[0]!;
    if (words32) {
      const base = (data.byteOffset + i) >> 2;
      for (let w = 0; w < words; w++) words32[base + w]! ^= mask;
    } else {
      const view = new Uint32Array(data.buffer, data.byteOffset + i, words);
      for (let w = 0; w < words; w++) view[w]! ^= mask;
    }
    i += words * 4;
  }
  for (; i < n; i++) data[i]! ^= key[i & 3]!;
}

/**
 * The header of an unmasked server frame carrying `length` payload bytes.
 *
 * @example
 * ```ts
 * import { frameHeader, Opcode } from "./ws_frames.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual([...frameHeader(Opcode.Text, 5)], [0x81, 5]);
 * assert.deepEqual([...frameHeader(Opcode.Binary, 300)], [0x82, 126, 1, 44]);
 * assert.equal(frameHeader(Opcode.Binary, 70_000).byteLength, 10);
 * ```
 */
export function frameHeader(opcode: number, length: number): Uint8Array {
  const head = new Uint8Array(headerLength(length));
  writeFrameHeader(head, 0, opcode, length);
  return head;
}

/**
 * Bytes of the header of a server frame carrying `length` payload bytes: 2,
 * 4 or 10.
 */
export function headerLength(length: number): number {
  return length < 126 ? 2 : length < 65536 ? 4 : 10;
}

/**
 * Writes the header of an unmasked, final server frame into `into` at
 * `at` (which must have {@linkcode headerLength} bytes of room), without
 * allocating; returns the bytes written.
 *
 * @example
 * ```ts
 * import { Opcode, writeFrameHeader } from "./ws_frames.ts";
 * import assert from "node:assert/strict";
 * const into = new Uint8Array(12);
 * assert.equal(writeFrameHeader(into, 2, Opcode.Binary, 300), 4);
 * assert.deepEqual([...into.subarray(0, 6)], [0, 0, 0x82, 126, 1, 44]);
 * ```
 */
export function writeFrameHeader(
  into: Uint8Array,
  at: number,
  opcode: number,
  length: number,
): number {
  into[at] = 0x80 | opcode;
  if (length < 126) {
    into[at + 1] = length;
    return 2;
  }
  if (length < 65536) {
    into[at + 1] = 126;
    into[at + 2] = length >> 8;
    into[at + 3] = length & 0xff;
    return 4;
  }
  into[at + 1] = 127;
  const high = Math.floor(length / 2 ** 32);
  const low = length >>> 0;
  for (let i = 0; i < 4; i++) {
    into[at + 2 + i] = (high >>> (24 - 8 * i)) & 0xff;
    into[at + 6 + i] = (low >>> (24 - 8 * i)) & 0xff;
  }
  return 10;
}

/** A close frame's payload: the code and the reason in UTF-8. */
export function closePayload(code: number, reason: string): Uint8Array {
  const text = new TextEncoder().encode(reason);
  const out = new Uint8Array(2 + text.byteLength);
  out[0] = code >> 8;
  out[1] = code & 0xff;
  out.set(text, 2);
  return out;
}

/** Close codes a peer may send (RFC 6455 section 7.4). */
function validCloseCode(code: number): boolean {
  return (code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) ||
    (code >= 3000 && code <= 4999);
}

/**
 * Reads client frames from a source and yields whole messages, control
 * frames and protocol errors.
 *
 * A payload that fits the read buffer is unmasked in place and handed out
 * as a view; a bigger one is read straight into an array of its own size,
 * allocated only after the size was checked against the limit. A fragmented
 * message is checked at every fragment header, on its total so far, so
 * nothing past the limit is ever buffered.
 *
 * @example
 * ```ts
 * import { FrameReader } from "./ws_frames.ts";
 * import assert from "node:assert/strict";
 * // "hi" as a masked text frame (key 0,0,0,0), then end of stream.
 * const bytes = new Uint8Array([0x81, 0x82, 0, 0, 0, 0, 104, 105]);
 * let sent = false;
 * const reader = new FrameReader({
 *   read: (p) => {
 *     if (sent) return Promise.resolve(null);
 *     sent = true;
 *     p.set(bytes);
 *     return Promise.resolve(bytes.byteLength);
 *   },
 * });
 * const ev = await reader.next();
 * assert.equal(ev.type === "message" && new TextDecoder().decode(ev.data), "hi");
 * assert.equal((await reader.next()).type, "end");
 * ```
 */
export class FrameReader {
  readonly #source: ByteSource;
  readonly #max: number;
  #buf: Uint8Array;
  #buf32: Uint32Array; // #buf as words, for unmask
  #start = 0; // first unread byte
  #end = 0; // one past the last buffered byte
  readonly #key = new Uint8Array(4);
  #message: Uint8Array | null = null; // a fragmented message so far
  #partBytes = 0;
  #fragmented = false;
  #binary = false;
  #skip = 0; // payload bytes of a refused frame still to discard
  #large: Uint8Array | null = null; // reused for payloads past the read buffer
  #largeUsed = false;
  #released = false; // the buffers are let go: nothing more is read

  /** Creates a reader over `source`. */
  constructor(source: ByteSource, options: FrameReaderOptions = {}) {
    this.#source = source;
    this.#max = options.maxMessageBytes ?? 16 * 1024 * 1024;
    const initial = options.initial ?? new Uint8Array(0);
    this.#buf = new Uint8Array(Math.max(options.bufferBytes ?? 64 * 1024, initial.byteLength, 16));
    this.#buf32 = new Uint32Array(this.#buf.buffer, 0, this.#buf.byteLength >> 2);
    this.#buf.set(initial);
    this.#end = initial.byteLength;
  }

  /** Bytes of buffers the reader holds (its read buffer and the reused payload array). */
  get reservedBytes(): number {
    return this.#buf.byteLength + (this.#large?.byteLength ?? 0);
  }

  /**
   * Lets go of every buffer, for good: the connection is over, and whoever
   * still holds the reader (or its owner) should not hold its memory. Any
   * read in progress, and every later {@linkcode next}, ends as `end`.
   * Idempotent.
   */
  release(): void {
    this.#released = true;
    this.#buf = new Uint8Array(0);
    this.#buf32 = new Uint32Array(0);
    this.#start = this.#end = 0;
    this.#large = null;
    this.#message = null;
    this.#partBytes = 0;
  }

  /** Bytes received and not yet consumed as frames. */
  get buffered(): number {
    return this.#end - this.#start;
  }

  /** Makes at least `n` (at most the buffer's size) bytes available; false at end of stream. */
  async #fill(n: number): Promise<boolean> {
    while (this.#end - this.#start < n) {
      if (this.#released) return false;
      if (this.#buf.byteLength - this.#start < n) {
        this.#buf.copyWithin(0, this.#start, this.#end);
        this.#end -= this.#start;
        this.#start = 0;
      }
      const got = await this.#source.read(this.#buf.subarray(this.#end));
      if (got === null || this.#released) return false;
      this.#end += got;
    }
    return true;
  }

  /**
   * The unmasked payload of `length` bytes: a view on the read buffer when
   * it fits there, else read straight into `into` (or an array of its own).
   */
  async #payload(length: number, into?: Uint8Array): Promise<Uint8Array | null> {
    if (length <= this.#buf.byteLength && !into) {
      if (!await this.#fill(length)) return null;
      const view = this.#buf.subarray(this.#start, this.#start + length);
      this.#start += length;
      unmask(view, this.#key, this.#buf32);
      return view;
    }
    const out = into ?? new Uint8Array(length);
    let got = Math.min(length, this.#end - this.#start);
    out.set(this.#buf.subarray(this.#start, this.#start + got));
    this.#start += got;
    while (got < length) {
      if (this.#released) return null;
      const n = await this.#source.read(out.subarray(got));
      if (n === null || this.#released) return null;
      got += n;
    }
    unmask(out, this.#key);
    return out;
  }

  /**
   * A reused array for a whole-message payload too big for the read buffer
   * (a fresh 1.4 MB array per process/write cost a third of the server's
   * time in garbage collection); undefined for small payloads and for ones
   * past {@linkcode LARGE_KEEP_BYTES}, which get an array of their own.
   */
  #reusable(length: number): Uint8Array | undefined {
    if (length <= this.#buf.byteLength || length > LARGE_KEEP_BYTES) return undefined;
    if (!this.#large || this.#large.byteLength < length) {
      this.#large = new Uint8Array(Math.min(LARGE_KEEP_BYTES, 2 ** Math.ceil(Math.log2(length))));
    }
    this.#largeUsed = true;
    return this.#large.subarray(0, length);
  }

  /**
   * Lets go of the reused payload array unless a message used it since the
   * last call (an idle connection should not keep megabytes).
   */
  trim(): void {
    if (!this.#largeUsed) this.#large = null;
    this.#largeUsed = false;
  }

  /** Room for `more` bytes at the end of the fragmented message (grown by doubling, up to the limit). */
  #grow(more: number): Uint8Array {
    const need = this.#partBytes + more;
    const have = this.#message;
    if (have && have.byteLength >= need) return have;
    const size = Math.min(this.#max, Math.max(need, 2 * (have?.byteLength ?? 0), 4096));
    const next = new Uint8Array(size);
    if (have) next.set(have.subarray(0, this.#partBytes));
    this.#message = next;
    return next;
  }

  /** Discards the payload of a frame refused as too big; false at end of stream. */
  async #discard(): Promise<boolean> {
    while (this.#skip > 0) {
      if (this.#end === this.#start) {
        if (this.#released) return false;
        const n = await this.#source.read(this.#buf);
        if (n === null || this.#released) return false;
        this.#start = 0;
        this.#end = n;
      }
      const d = Math.min(this.#skip, this.#end - this.#start);
      this.#start += d;
      this.#skip -= d;
    }
    return true;
  }

  /**
   * Reads until the next event. After a `1009` error the reader can go on
   * (the refused payload is skipped unread, so the peer's answer to the
   * close can still be seen); after any other error it cannot.
   */
  async next(): Promise<FrameEvent> {
    for (;;) {
      if (!await this.#discard()) return { type: "end" };
      if (!await this.#fill(2)) return { type: "end" };
      const b0 = this.#buf[this.#start]!;
      const b1 = this.#buf[this.#start + 1]!;
      const fin = (b0 & 0x80) !== 0;
      const opcode = b0 & 0x0f;
      const len7 = b1 & 0x7f;
      if ((b0 & 0x70) !== 0) return protocolError("reserved bits set (no extension was agreed)");
      if ((b1 & 0x80) === 0) return protocolError("client frames must be masked");
      const extra = len7 === 126 ? 2 : len7 === 127 ? 8 : 0;
      if (!await this.#fill(2 + extra + 4)) return { type: "end" };
      let length = len7;
      const at = this.#start + 2;
      if (len7 === 126) {
        length = (this.#buf[at]! << 8) | this.#buf[at + 1]!;
      } else if (len7 === 127) {
        const view = new DataView(this.#buf.buffer, this.#buf.byteOffset + at, 8);
        const high = view.getUint32(0);
        if (high >= 0x200000) return protocolError("frame length beyond 2^53");
        length = high * 2 ** 32 + view.getUint32(4);
      }
      this.#key.set(this.#buf.subarray(at + extra, at + extra + 4));
      const isControl = opcode >= 0x8;
      if (isControl) {
        if (opcode > Opcode.Pong) return protocolError(`unknown opcode ${opcode}`);
        if (!fin) return protocolError("control frames must not be fragmented");
        if (length > 125) return protocolError("control frame longer than 125 bytes");
      } else if (opcode > Opcode.Binary) {
        return protocolError(`unknown opcode ${opcode}`);
      } else if (opcode === Opcode.Continuation && !this.#fragmented) {
        return protocolError("continuation frame without a message to continue");
      } else if (opcode !== Opcode.Continuation && this.#fragmented) {
        return protocolError("new message before the fragmented one ended");
      } else if (this.#partBytes + length > this.#max) {
        // Checked on the header: the payload is skipped, never buffered.
        const total = this.#partBytes + length;
        this.#start += 2 + extra + 4;
        this.#skip = length;
        this.#message = null;
        this.#partBytes = 0;
        this.#fragmented = false;
        return {
          type: "error",
          code: 1009,
          reason: `message too big: ${total} bytes exceeds the limit of ${this.#max}`,
        };
      }
      this.#start += 2 + extra + 4;
      if (isControl) {
        const data = await this.#payload(length);
        if (!data) return { type: "end" };
        if (opcode === Opcode.Ping) return { type: "ping", data };
        if (opcode === Opcode.Pong) return { type: "pong", data };
        return closeEvent(data);
      }
      if (fin && !this.#fragmented) {
        const data = await this.#payload(length, this.#reusable(length));
        if (!data) return { type: "end" };
        return { type: "message", binary: opcode === Opcode.Binary, data };
      }
      if (!this.#fragmented) {
        this.#fragmented = true;
        this.#binary = opcode === Opcode.Binary;
      }
      // Fragments are gathered in one array, so many tiny ones cost no more
      // than their bytes (an array each would cost hundreds).
      const into = this.#grow(length).subarray(this.#partBytes, this.#partBytes + length);
      if (!await this.#payload(length, into)) return { type: "end" };
      this.#partBytes += length;
      if (!fin) continue;
      const data = this.#message!.subarray(0, this.#partBytes);
      this.#message = null;
      this.#partBytes = 0;
      this.#fragmented = false;
      return { type: "message", binary: this.#binary, data };
    }
  }
}

function protocolError(reason: string): FrameEvent {
  return { type: "error", code: 1002, reason: `protocol error: ${reason}` };
}

function closeEvent(data: Uint8Array): FrameEvent {
  if (data.byteLength === 0) return { type: "close", code: null, reason: "" };
  if (data.byteLength === 1) return protocolError("close frame with a one-byte payload");
  const code = (data[0]! << 8) | data[1]!;
  if (!validCloseCode(code)) return protocolError(`invalid close code ${code}`);
  try {
    return { type: "close", code, reason: fatalUtf8.decode(data.subarray(2)) };
  } catch {
    return { type: "error", code: 1007, reason: "close reason is not valid UTF-8" };
  }
}
