// Copyright 2026 the exec-server authors. MIT license.
/**
 * Binary process-output frames, used instead of base64 JSON when a client
 * negotiates `capabilities.binaryOutput` in `initialize`.
 *
 * Layout (big-endian): byte 0 frame type (1 = process output); byte 1 stream
 * (0 stdout, 1 stderr, 2 pty); bytes 2–3 length N of the UTF-8 process id;
 * bytes 4–11 seq (u64); then N bytes of process id; then the output bytes.
 *
 * @module
 */
import type { Stream as StreamName } from "./wire.ts";

/** Frame type byte of a process-output frame. */
const FRAME_OUTPUT = 1;
const STREAMS: readonly StreamName[] = ["stdout", "stderr", "pty"];
const HEADER = 12;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A decoded output frame. */
export interface OutputFrame {
  /** Process id. */
  processId: string;
  /** Sequence number. */
  seq: number;
  /** Stream. */
  stream: StreamName;
  /** The bytes (a view into the frame). */
  data: Uint8Array;
}

/**
 * Bytes a producer may reserve in front of an output chunk so that
 * {@linkcode encodeOutputFrame} can build the frame in place instead of
 * copying the chunk (enough for a process id of up to 244 UTF-8 bytes).
 */
export const FRAME_HEADROOM = 256;

/** Buffers whose bytes in front of the chunk views on them are free for a frame header. */
const withHeadroom = new WeakSet<ArrayBufferLike>();

/**
 * Marks the bytes of `data.buffer` before `data.byteOffset` as free for
 * {@linkcode encodeOutputFrame} to write a frame header into. The producer
 * must not use them, nor put another chunk view on the same buffer.
 */
export function markHeadroom(data: Uint8Array): Uint8Array {
  withHeadroom.add(data.buffer);
  return data;
}

/**
 * Encodes an output frame. When `data` was marked with
 * {@linkcode markHeadroom} and there is room for the header, the frame is
 * built in place around `data` (which is not changed) instead of copied.
 *
 * @example
 * ```ts
 * import { decodeOutputFrame, encodeOutputFrame } from "./binary_frame.ts";
 * import assert from "node:assert/strict";
 * const f = encodeOutputFrame("p1", 7, "stderr", new Uint8Array([1, 2]));
 * assert.equal(decodeOutputFrame(f).seq, 7);
 * ```
 */
export function encodeOutputFrame(
  processId: string,
  seq: number,
  stream: StreamName,
  data: Uint8Array,
): Uint8Array {
  const id = encoder.encode(processId);
  const headerLen = HEADER + id.byteLength;
  let frame: Uint8Array;
  if (data.byteOffset >= headerLen && withHeadroom.has(data.buffer)) {
    withHeadroom.delete(data.buffer); // one frame per chunk
    frame = new Uint8Array(data.buffer, data.byteOffset - headerLen, headerLen + data.byteLength);
  } else {
    frame = new Uint8Array(headerLen + data.byteLength);
    frame.set(data, headerLen);
  }
  const view = new DataView(frame.buffer, frame.byteOffset, HEADER);
  frame[0] = FRAME_OUTPUT;
  frame[1] = STREAMS.indexOf(stream);
  view.setUint16(2, id.byteLength);
  view.setUint32(4, Math.floor(seq / 2 ** 32));
  view.setUint32(8, seq >>> 0);
  frame.set(id, HEADER);
  return frame;
}

/** Decodes an output frame; throws TypeError on a malformed one. */
export function decodeOutputFrame(frame: Uint8Array): OutputFrame {
  if (frame.byteLength < HEADER || frame[0] !== FRAME_OUTPUT) {
    throw new TypeError("Cannot decode output frame: bad header");
  }
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  const stream = STREAMS[frame[1]!];
  const idLen = view.getUint16(2);
  if (!stream || frame.byteLength < HEADER + idLen) {
    throw new TypeError("Cannot decode output frame: bad stream or length");
  }
  return {
    processId: decoder.decode(frame.subarray(HEADER, HEADER + idLen)),
    seq: view.getUint32(4) * 2 ** 32 + view.getUint32(8),
    stream,
    data: frame.subarray(HEADER + idLen),
  };
}
