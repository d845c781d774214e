// Copyright 2026 the exec-server authors. MIT license.
/**
 * The frames a server WebSocket has yet to write: messages in order, and
 * control frames (pongs, pings) that go ahead of them, but only at a frame
 * boundary, never between a data frame's header and the end of its payload
 * (the header announced the payload's length). Runtime-neutral: the socket
 * copies what the queue gives into its write batch and writes it.
 *
 * @module
 */
import { headerLength, writeFrameHeader } from "./ws_frames.ts";

/**
 * Payloads this big are not copied into a batch: the batch ends after their
 * header and they are written as they are ({@linkcode SendQueue.takeDirect}).
 */
export const DIRECT_BYTES = 256 * 1024;

/**
 * A queue of frames, each message kept as its payload and opcode (the
 * header is written straight into the batch: nothing is allocated per
 * frame).
 *
 * @example
 * ```ts
 * import { SendQueue } from "./ws_send_queue.ts";
 * import assert from "node:assert/strict";
 * const queue = new SendQueue();
 * queue.push(0x1, new TextEncoder().encode("hello"));
 * queue.pushControl(0xa, new Uint8Array([7]));
 * const batch = new Uint8Array(64);
 * const n = queue.fill(batch);
 * // The pong first (nothing of the message was taken yet), then the message.
 * assert.deepEqual([...batch.subarray(0, n)], [0x8a, 1, 7, 0x81, 5, 104, 101, 108, 108, 111]);
 * assert.ok(queue.empty);
 * ```
 */
export class SendQueue {
  #payloads: Uint8Array[] = [];
  #opcodes: number[] = [];
  #head = 0; // first frame not wholly taken
  #taken = -1; // of the head frame: -1 none yet, else its header and this many payload bytes
  #direct = false; // the head frame's header is taken and its payload goes out by takeDirect()
  #controls: Uint8Array[] = []; // whole frames, in order

  /** True when nothing is left to take. */
  get empty(): boolean {
    return this.#head >= this.#payloads.length && this.#controls.length === 0;
  }

  /**
   * Queues a data (or close) frame; returns its size on the wire. The
   * payload is read when it is taken: do not change it.
   */
  push(opcode: number, payload: Uint8Array): number {
    this.#payloads.push(payload);
    this.#opcodes.push(opcode);
    return headerLength(payload.byteLength) + payload.byteLength;
  }

  /** Queues a control frame (payload of at most 125 bytes); returns its size on the wire. */
  pushControl(opcode: number, payload: Uint8Array): number {
    const frame = new Uint8Array(2 + payload.byteLength);
    writeFrameHeader(frame, 0, opcode, payload.byteLength);
    frame.set(payload, 2);
    this.#controls.push(frame);
    return frame.byteLength;
  }

  /**
   * Copies frames into `batch` (at least 136 bytes: a control frame or a
   * header always fits an empty one) and returns how many bytes. Control
   * frames go first whenever no data frame is partly taken; a control frame
   * or a header is never split. The batch ends early before a payload of
   * {@linkcode DIRECT_BYTES} or more: its header is the batch's last bytes,
   * and {@linkcode takeDirect} gives the payload.
   */
  fill(batch: Uint8Array): number {
    const cap = batch.byteLength;
    let n = 0;
    while (!this.#direct) {
      if (this.#taken < 0 && this.#controls.length > 0) {
        const frame = this.#controls[0]!;
        if (frame.byteLength > cap - n) break;
        batch.set(frame, n);
        n += frame.byteLength;
        this.#controls.shift();
        continue;
      }
      if (this.#head >= this.#payloads.length) break;
      const payload = this.#payloads[this.#head]!;
      if (this.#taken < 0) {
        if (headerLength(payload.byteLength) > cap - n) break;
        n += writeFrameHeader(batch, n, this.#opcodes[this.#head]!, payload.byteLength);
        this.#taken = 0;
        if (payload.byteLength >= DIRECT_BYTES) {
          this.#direct = true;
          break;
        }
      }
      const take = Math.min(payload.byteLength - this.#taken, cap - n);
      batch.set(payload.subarray(this.#taken, this.#taken + take), n);
      n += take;
      this.#taken += take;
      if (this.#taken < payload.byteLength) break; // the batch is full
      this.#shift();
    }
    return n;
  }

  /**
   * The payload to write as it is, after the batch that ended with its
   * header; null when the last {@linkcode fill} did not stop before one.
   */
  takeDirect(): Uint8Array | null {
    if (!this.#direct) return null;
    const payload = this.#payloads[this.#head]!;
    this.#direct = false;
    this.#shift();
    return payload;
  }

  /** Drops everything. */
  clear(): void {
    this.#payloads = [];
    this.#opcodes = [];
    this.#controls = [];
    this.#head = 0;
    this.#taken = -1;
    this.#direct = false;
  }

  #shift(): void {
    this.#payloads[this.#head++] = undefined!;
    this.#taken = -1;
    if (this.#head === this.#payloads.length) {
      this.#payloads = [];
      this.#opcodes = [];
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > this.#payloads.length) {
      this.#payloads = this.#payloads.slice(this.#head);
      this.#opcodes = this.#opcodes.slice(this.#head);
      this.#head = 0;
    }
  }
}
