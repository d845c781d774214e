// Copyright 2026 the exec-server authors. MIT license.
/**
 * An incremental decoder of one direction of a WebSocket byte stream (the
 * HTTP upgrade head, then RFC 6455 frames), for logging what a TCP relay
 * carries. It never alters bytes; it only observes them.
 *
 * @module
 */

/** WebSocket opcodes. */
export const OPCODE = {
  continuation: 0,
  text: 1,
  binary: 2,
  close: 8,
  ping: 9,
  pong: 10,
} as const;

/** One decoded message (fragments joined) or control frame. */
export interface DecodedFrame {
  /** The opcode of the message (of its first fragment). */
  opcode: number;
  /** The unmasked payload. */
  payload: Uint8Array;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b.slice();
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** Decodes one direction: feed it chunks, get whole messages back. */
export class FrameDecoder {
  #buffer: Uint8Array = new Uint8Array(0);
  #inHead = true;
  #fragments: Uint8Array[] = [];
  #fragmentOpcode = 0;
  /** The HTTP head (request or response line plus headers), once seen. */
  head = "";

  /** Adds bytes; returns the messages and control frames they completed. */
  push(chunk: Uint8Array): DecodedFrame[] {
    this.#buffer = concat(this.#buffer, chunk);
    if (this.#inHead) {
      const end = findHeadEnd(this.#buffer);
      if (end < 0) return [];
      this.head = new TextDecoder().decode(this.#buffer.subarray(0, end));
      this.#buffer = this.#buffer.slice(end + 4);
      this.#inHead = false;
    }
    const out: DecodedFrame[] = [];
    for (;;) {
      const frame = this.#nextFrame();
      if (!frame) return out;
      const { fin, opcode, payload } = frame;
      if (opcode >= OPCODE.close) {
        out.push({ opcode, payload });
        continue;
      }
      if (opcode !== OPCODE.continuation) this.#fragmentOpcode = opcode;
      this.#fragments.push(payload);
      if (fin) {
        const whole = this.#fragments.reduce(concat, new Uint8Array(0));
        this.#fragments = [];
        out.push({ opcode: this.#fragmentOpcode, payload: whole });
      }
    }
  }

  #nextFrame(): { fin: boolean; opcode: number; payload: Uint8Array } | null {
    const b = this.#buffer;
    if (b.length < 2) return null;
    const fin = (b[0]! & 0x80) !== 0;
    const opcode = b[0]! & 0x0f;
    const masked = (b[1]! & 0x80) !== 0;
    let length = b[1]! & 0x7f;
    let offset = 2;
    if (length === 126) {
      if (b.length < 4) return null;
      length = (b[2]! << 8) | b[3]!;
      offset = 4;
    } else if (length === 127) {
      if (b.length < 10) return null;
      length = Number(new DataView(b.buffer, b.byteOffset + 2, 8).getBigUint64(0));
      offset = 10;
    }
    const maskOffset = offset;
    if (masked) offset += 4;
    if (b.length < offset + length) return null;
    const payload = b.slice(offset, offset + length);
    if (masked) {
      for (let i = 0; i < payload.length; i++) payload[i]! ^= b[maskOffset + (i % 4)]!;
    }
    this.#buffer = b.slice(offset + length);
    return { fin, opcode, payload };
  }
}

function findHeadEnd(b: Uint8Array): number {
  for (let i = 0; i + 3 < b.length; i++) {
    if (b[i] === 13 && b[i + 1] === 10 && b[i + 2] === 13 && b[i + 3] === 10) return i;
  }
  return -1;
}
