// Copyright 2026 the exec-server authors. MIT license.
/**
 * Per-process retention of output chunks, capped in bytes, oldest evicted
 * first, with exact accounting of what was evicted so a reader is told about
 * a gap instead of silently skipping it. Pure: no I/O.
 *
 * @module
 */
import type { StreamName } from "../process/child.ts";

/** A retained output chunk. */
export interface RetainedChunk {
  /** Sequence number (shared with exit and close events). */
  readonly seq: number;
  /** The stream it was read from. */
  readonly stream: StreamName;
  /** The bytes. */
  readonly data: Uint8Array;
}

/** Chunks that were evicted between a cursor and the first retained chunk. */
export interface OutputGap {
  /** The reader's cursor. */
  afterSeq: number;
  /** The last evicted sequence number. */
  throughSeq: number;
  /** Bytes evicted after the cursor (a lower bound when the index was trimmed). */
  bytes: number;
}

/** Result of {@linkcode OutputBuffer.read}. */
export interface OutputSlice {
  /** Chunks with `seq > afterSeq`, in order, within the byte budget. */
  chunks: RetainedChunk[];
  /** Present when chunks after the cursor were evicted. */
  gap?: OutputGap;
}

/** Options for {@linkcode OutputBuffer}. */
export interface OutputBufferOptions {
  /** Bytes to retain before evicting the oldest chunks. @default {1048576} */
  maxBytes?: number;
  /**
   * Chunks to retain, however small: each costs about 100 bytes of memory
   * besides its data, so a process writing a byte at a time must not keep a
   * million of them. @default {max(64, maxBytes / 128)}
   */
  maxChunks?: number;
  /** Evicted chunks remembered for exact gap sizes. @default {4096} */
  maxEvictedIndex?: number;
}

/**
 * A view that keeps a backing buffer this much bigger than itself alive is
 * copied before it is retained (a 20 KiB read into a 64 KiB buffer).
 */
const SLACK_BYTES = 4096;

/**
 * Chunks up to this size are copied into shared slabs: an ArrayBuffer of its
 * own costs about 500 bytes of memory besides the data (measured), a slot in
 * a slab nothing.
 */
const SMALL_BYTES = 2048;
const SLAB_BYTES = 32 * 1024;

/** A retained chunk as stored: its own bytes, or a range of a slab. */
interface Entry {
  readonly seq: number;
  readonly stream: StreamName;
  readonly data: Uint8Array | ArrayBuffer;
  readonly offset: number;
  readonly length: number;
}

function view(entry: Entry): RetainedChunk {
  const data = entry.data instanceof Uint8Array
    ? entry.data
    : new Uint8Array(entry.data, entry.offset, entry.length);
  return { seq: entry.seq, stream: entry.stream, data };
}

/**
 * A byte-capped FIFO of output chunks. An evicted chunk is dropped from the
 * buffer at once, so its memory can be reclaimed while the process runs.
 *
 * @example
 * ```ts
 * import { OutputBuffer } from "./output_buffer.ts";
 * import assert from "node:assert/strict";
 * const buf = new OutputBuffer({ maxBytes: 4 });
 * buf.push(1, "stdout", new Uint8Array(3));
 * buf.push(2, "stdout", new Uint8Array(3));
 * const slice = buf.read(0, Infinity);
 * assert.equal(slice.chunks.length, 1);
 * assert.deepEqual(slice.gap, { afterSeq: 0, throughSeq: 1, bytes: 3 });
 * ```
 */
export class OutputBuffer {
  readonly #maxBytes: number;
  readonly #maxChunks: number;
  readonly #evicted: EvictedIndex;
  // Retained chunks are #chunks[#head..]; evicted slots before #head are
  // cleared at once and the array is compacted now and then.
  #chunks: (Entry | undefined)[] = [];
  #slab: ArrayBuffer | null = null;
  #slabUsed = 0;
  #starts: number[] = []; // byte offset of each chunk in the whole output
  #head = 0;
  #retained = 0;
  #total = 0; // bytes ever pushed
  #evictedThrough = 0; // last evicted seq

  /** Creates an empty buffer. */
  constructor(options: OutputBufferOptions = {}) {
    this.#maxBytes = options.maxBytes ?? 1024 * 1024;
    this.#maxChunks = options.maxChunks ?? Math.max(64, Math.floor(this.#maxBytes / 128));
    this.#evicted = new EvictedIndex(options.maxEvictedIndex ?? 4096);
  }

  /** Bytes currently retained. */
  get retainedBytes(): number {
    return this.#retained;
  }

  /** Chunks currently retained. */
  get retainedChunks(): number {
    return this.#chunks.length - this.#head;
  }

  /** Bytes ever pushed. */
  get totalBytes(): number {
    return this.#total;
  }

  /**
   * Appends a chunk (seqs must increase) and evicts the oldest beyond the
   * caps. Small chunks are copied into shared slabs, and a view that would
   * pin a much bigger buffer is copied, so that the caps count what the
   * buffer keeps in memory.
   */
  push(seq: number, stream: StreamName, data: Uint8Array): void {
    const length = data.byteLength;
    this.#chunks.push(this.#store(seq, stream, data));
    this.#starts.push(this.#total);
    this.#total += length;
    this.#retained += length;
    // Keep at least the newest chunk, even when it alone exceeds the cap.
    while (
      this.#chunks.length - this.#head > 1 &&
      (this.#retained > this.#maxBytes || this.#chunks.length - this.#head > this.#maxChunks)
    ) {
      this.#evictOldest();
    }
    if (this.#head > 1024 && this.#head * 2 > this.#chunks.length) {
      this.#chunks = this.#chunks.slice(this.#head);
      this.#starts = this.#starts.slice(this.#head);
      this.#head = 0;
    }
  }

  #store(seq: number, stream: StreamName, data: Uint8Array): Entry {
    const length = data.byteLength;
    if (length > SMALL_BYTES) {
      if (data.buffer.byteLength > length * 2 + SLACK_BYTES) data = data.slice();
      return { seq, stream, data, offset: 0, length };
    }
    if (!this.#slab || this.#slabUsed + length > SLAB_BYTES) {
      this.#slab = new ArrayBuffer(SLAB_BYTES);
      this.#slabUsed = 0;
    }
    const offset = this.#slabUsed;
    new Uint8Array(this.#slab, offset, length).set(data);
    this.#slabUsed += length;
    return { seq, stream, data: this.#slab, offset, length };
  }

  #evictOldest(): void {
    const chunk = this.#chunks[this.#head]!;
    const start = this.#starts[this.#head]!;
    this.#chunks[this.#head] = undefined; // unreachable now, not at the next compaction
    this.#head++;
    this.#retained -= chunk.length;
    this.#evictedThrough = chunk.seq;
    this.#evicted.add(chunk.seq, start);
  }

  /**
   * Returns chunks with `seq > afterSeq`, adding chunks while the total stays
   * within `maxBytes` (the first chunk is always included).
   */
  read(afterSeq: number, maxBytes: number): OutputSlice {
    const chunks: RetainedChunk[] = [];
    let i = this.#firstAfter(afterSeq);
    let bytes = 0;
    for (; i < this.#chunks.length; i++) {
      const chunk = this.#chunks[i]!;
      if (chunks.length > 0 && bytes + chunk.length > maxBytes) break;
      chunks.push(view(chunk));
      bytes += chunk.length;
      if (bytes >= maxBytes) break;
    }
    const slice: OutputSlice = { chunks };
    if (afterSeq < this.#evictedThrough) {
      const end = this.#head < this.#starts.length ? this.#starts[this.#head]! : this.#total;
      slice.gap = {
        afterSeq,
        throughSeq: this.#evictedThrough,
        bytes: end - this.#evicted.startAfter(afterSeq, end),
      };
    }
    return slice;
  }

  #firstAfter(afterSeq: number): number {
    let lo = this.#head;
    let hi = this.#chunks.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.#chunks[mid]!.seq <= afterSeq) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

/**
 * The seqs and byte offsets of the most recently evicted chunks, in a ring
 * allocated on the first eviction (16 bytes per entry).
 */
class EvictedIndex {
  readonly #capacity: number;
  #seqs: Float64Array | null = null;
  #starts: Float64Array | null = null;
  #first = 0; // ring position of the oldest entry
  #size = 0;

  constructor(capacity: number) {
    this.#capacity = Math.max(1, capacity);
  }

  add(seq: number, start: number): void {
    this.#seqs ??= new Float64Array(this.#capacity);
    this.#starts ??= new Float64Array(this.#capacity);
    const at = (this.#first + this.#size) % this.#capacity;
    this.#seqs[at] = seq;
    this.#starts[at] = start;
    if (this.#size < this.#capacity) this.#size++;
    else this.#first = (this.#first + 1) % this.#capacity;
  }

  /**
   * Byte offset of the first evicted chunk with seq > `afterSeq`, or `end`
   * when there is none. When the cursor predates the oldest remembered entry
   * this is that entry's offset, so the gap is a lower bound.
   */
  startAfter(afterSeq: number, end: number): number {
    const seqs = this.#seqs;
    if (!seqs || !this.#starts) return end;
    const cap = this.#capacity;
    let lo = 0;
    let hi = this.#size;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (seqs[(this.#first + mid) % cap]! <= afterSeq) lo = mid + 1;
      else hi = mid;
    }
    return lo < this.#size ? this.#starts[(this.#first + lo) % cap]! : end;
  }
}
