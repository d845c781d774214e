// Copyright 2026 the exec-server authors. MIT license.
import assert from "node:assert/strict";
import { OutputBuffer } from "../lib/server/output_buffer.ts";

const bytes = (n: number) => new Uint8Array(n);

Deno.test("OutputBuffer.read() returns chunks after the cursor in order", () => {
  const b = new OutputBuffer();
  b.push(1, "stdout", bytes(1));
  b.push(2, "stderr", bytes(2));
  b.push(4, "stdout", bytes(3));
  assert.deepEqual(b.read(0, Infinity).chunks.map((c) => c.seq), [1, 2, 4]);
  assert.deepEqual(b.read(2, Infinity).chunks.map((c) => c.seq), [4]);
  assert.deepEqual(b.read(4, Infinity).chunks, []);
  assert.equal(b.read(0, Infinity).gap, undefined);
});

Deno.test("OutputBuffer.read() always includes the first chunk and stops at maxBytes", () => {
  const b = new OutputBuffer();
  b.push(1, "stdout", bytes(10));
  b.push(2, "stdout", bytes(10));
  b.push(3, "stdout", bytes(10));
  assert.deepEqual(b.read(0, 5).chunks.map((c) => c.seq), [1]);
  assert.deepEqual(b.read(0, 20).chunks.map((c) => c.seq), [1, 2]);
  assert.deepEqual(b.read(0, 25).chunks.map((c) => c.seq), [1, 2]);
});

Deno.test("OutputBuffer evicts the oldest chunks beyond the cap and reports the gap exactly", () => {
  const b = new OutputBuffer({ maxBytes: 10 });
  for (let seq = 1; seq <= 5; seq++) b.push(seq, "stdout", bytes(4));
  assert.equal(b.retainedBytes, 8);
  assert.equal(b.totalBytes, 20);
  const all = b.read(0, Infinity);
  assert.deepEqual(all.chunks.map((c) => c.seq), [4, 5]);
  assert.deepEqual(all.gap, { afterSeq: 0, throughSeq: 3, bytes: 12 });
  assert.deepEqual(b.read(2, Infinity).gap, { afterSeq: 2, throughSeq: 3, bytes: 4 });
  assert.equal(b.read(3, Infinity).gap, undefined);
});

Deno.test("OutputBuffer keeps a single chunk bigger than the cap", () => {
  const b = new OutputBuffer({ maxBytes: 4 });
  b.push(1, "stdout", bytes(2));
  b.push(2, "stdout", bytes(100));
  assert.deepEqual(b.read(0, Infinity).chunks.map((c) => c.seq), [2]);
});

Deno.test("OutputBuffer gap sizes stay exact across compaction of a long stream", () => {
  const b = new OutputBuffer({ maxBytes: 100 });
  for (let seq = 1; seq <= 5000; seq++) b.push(seq, "stdout", bytes(seq % 7 + 1));
  const r = b.read(10, Infinity);
  const retained = r.chunks.reduce((n, c) => n + c.data.byteLength, 0);
  let total = 0;
  for (let seq = 11; seq <= 5000; seq++) total += seq % 7 + 1;
  assert.equal(r.gap!.bytes + retained, total);
  assert.equal(r.chunks.at(-1)!.seq, 5000);
});
