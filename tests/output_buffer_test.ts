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
  const b = new OutputBuffer({ maxBytes: 100, maxEvictedIndex: 8192 });
  for (let seq = 1; seq <= 5000; seq++) b.push(seq, "stdout", bytes(seq % 7 + 1));
  const r = b.read(10, Infinity);
  const retained = r.chunks.reduce((n, c) => n + c.data.byteLength, 0);
  let total = 0;
  for (let seq = 11; seq <= 5000; seq++) total += seq % 7 + 1;
  assert.equal(r.gap!.bytes + retained, total);
  assert.equal(r.chunks.at(-1)!.seq, 5000);
});

Deno.test("OutputBuffer: past the evicted index a gap is a lower bound, never more than was lost", () => {
  const b = new OutputBuffer({ maxBytes: 100, maxEvictedIndex: 16 });
  for (let seq = 1; seq <= 1000; seq++) b.push(seq, "stdout", bytes(10));
  const retained = b.read(0, Infinity).chunks.length * 10;
  const gap = b.read(0, Infinity).gap!;
  assert.equal(gap.throughSeq, 1000 - retained / 10);
  assert.equal(gap.bytes, 16 * 10, "the 16 remembered evictions");
  assert.ok(gap.bytes <= 10_000 - retained);
  // A recent cursor is still exact.
  assert.deepEqual(b.read(985, Infinity).gap, { afterSeq: 985, throughSeq: 990, bytes: 50 });
});

Deno.test("OutputBuffer caps the number of chunks: a byte at a time keeps maxBytes / 128 of them", () => {
  const b = new OutputBuffer({ maxBytes: 64 * 1024 });
  for (let seq = 1; seq <= 10_000; seq++) b.push(seq, "stdout", bytes(1));
  assert.equal(b.retainedChunks, 512);
  assert.equal(b.retainedBytes, 512);
  // 9,488 evicted, the last 4,096 remembered: the gap is a lower bound.
  assert.deepEqual(b.read(0, Infinity).gap, { afterSeq: 0, throughSeq: 9488, bytes: 4096 });
  assert.deepEqual(b.read(9000, Infinity).gap, { afterSeq: 9000, throughSeq: 9488, bytes: 488 });
  const small = new OutputBuffer({ maxBytes: 16 });
  for (let seq = 1; seq <= 100; seq++) small.push(seq, "stdout", bytes(0));
  assert.equal(small.retainedChunks, 64, "at least 64 chunks");
});

Deno.test("OutputBuffer copies what would pin more memory than it holds, and keeps full views", () => {
  const b = new OutputBuffer();
  const big = new ArrayBuffer(64 * 1024 + 256);
  const part = new Uint8Array(big, 256, 20_000).fill(7);
  const full = new Uint8Array(new ArrayBuffer(64 * 1024 + 256), 256, 64 * 1024);
  const tiny = [new Uint8Array([1, 2]), new Uint8Array([3])];
  b.push(1, "stdout", part);
  b.push(2, "stdout", full);
  b.push(3, "stderr", tiny[0]!);
  b.push(4, "stdout", tiny[1]!);
  tiny[0]!.fill(9); // the buffer holds its own copy
  const [one, two, three, four] = b.read(0, Infinity).chunks;
  assert.notEqual(one!.data.buffer, big, "a small part of a big buffer is copied");
  assert.equal(one!.data.buffer.byteLength, 20_000);
  assert.deepEqual([...one!.data.subarray(0, 3)], [7, 7, 7]);
  assert.equal(two!.data, full, "a full view is kept as it is");
  assert.deepEqual([...three!.data], [1, 2]);
  assert.deepEqual([...four!.data], [3]);
  assert.equal(three!.data.buffer, four!.data.buffer, "small chunks share a slab");
  assert.deepEqual([three!.stream, four!.stream], ["stderr", "stdout"]);
});
