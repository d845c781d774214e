// Copyright 2026 the exec-server authors. MIT license.
import assert from "node:assert/strict";
import {
  decodeOutputFrame,
  encodeOutputFrame,
  FRAME_HEADROOM,
  markHeadroom,
} from "../lib/protocol/binary_frame.ts";

Deno.test("a frame built in the headroom equals a copied frame and leaves the chunk intact", () => {
  const bytes = Uint8Array.from({ length: 1000 }, (_, i) => i % 251);
  const copied = encodeOutputFrame("proc-é", 2 ** 40 + 3, "stderr", bytes);
  const buffer = new Uint8Array(FRAME_HEADROOM + bytes.byteLength);
  buffer.set(bytes, FRAME_HEADROOM);
  const chunk = markHeadroom(buffer.subarray(FRAME_HEADROOM));
  const inPlace = encodeOutputFrame("proc-é", 2 ** 40 + 3, "stderr", chunk);
  assert.equal(inPlace.buffer, chunk.buffer, "built in place");
  assert.deepEqual(inPlace, copied);
  assert.deepEqual(chunk, bytes);
  const frame = decodeOutputFrame(inPlace);
  assert.equal(frame.processId, "proc-é");
  assert.equal(frame.seq, 2 ** 40 + 3);
  assert.deepEqual(frame.data, bytes);
  // The headroom serves one frame; a second encoding copies.
  const again = encodeOutputFrame("other", 9, "stdout", chunk);
  assert.notEqual(again.buffer, chunk.buffer);
  assert.deepEqual(decodeOutputFrame(again).data, bytes);
  // A process id longer than the headroom falls back to a copy.
  const long = "x".repeat(FRAME_HEADROOM);
  const buffer2 = new Uint8Array(FRAME_HEADROOM + 4);
  const chunk2 = markHeadroom(buffer2.subarray(FRAME_HEADROOM));
  const big = encodeOutputFrame(long, 1, "stdout", chunk2);
  assert.notEqual(big.buffer, chunk2.buffer);
  assert.equal(decodeOutputFrame(big).processId, long);
});
