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
  /** Evicted chunks remembered for exact gap sizes. @default {65536} */
  maxEvictedIndex?: number;
}

/**
 * A byte-capped FIFO of output chunks.
 *
 * @example
 * ```ts
 * import { OutputBuffer } from "./output_buffer.ts";
 * const buf = new OutputBuffer({ maxBytes: 4 });
 * buf.push(1, "stdout", new Uint8Array(3));
 * buf.push(2, "stdout", new Uint8Array(3));
 * const slice = buf.read(0, Infinity);
 * console.assert(slice.chunks.length === 1 && slice.gap?.throughSeq === 1);
 * ```
 */
export class OutputBuffer {
  readonly #maxBytes: number;
  readonly #maxEvicted: number;
  #chunks: RetainedChunk[] = [];
  #starts: number[] = []; // byte offset of each retained chunk in the whole output
  #head = 0; // index of the oldest retained chunk
  #retained = 0;
  #total = 0; // bytes ever pushed
  #evictedThrough = 0; // last evicted seq
  #evSeq: number[] = []; // evicted chunks' seqs (ascending) ...
  #evStart: number[] = []; // ... and their byte offsets

  /** Creates an empty buffer. */
  constructor(options: OutputBufferOptions = {}) {
    this.#maxBytes = options.maxBytes ?? 1024 * 1024;
    this.#maxEvicted = options.maxEvictedIndex ?? 65536;
  }

  /** Bytes currently retained. */
  get retainedBytes(): number {
    return this.#retained;
  }

  /** Bytes ever pushed. */
  get totalBytes(): number {
    return this.#total;
  }

  /** Appends a chunk (seqs must increase) and evicts the oldest beyond the cap. */
  push(seq: number, stream: StreamName, data: Uint8Array): void {
    this.#chunks.push({ seq, stream, data });
    this.#starts.push(this.#total);
    this.#total += data.byteLength;
    this.#retained += data.byteLength;
    // Keep at least the newest chunk, even when it alone exceeds the cap.
    while (
      this.#retained > this.#maxBytes && this.#chunks.length - this.#head > 1
    ) {
      this.#evictOldest();
    }
    if (this.#head > 1024 && this.#head * 2 > this.#chunks.length) {
      this.#chunks = this.#chunks.slice(this.#head);
      this.#starts = this.#starts.slice(this.#head);
      this.#head = 0;
    }
  }

  #evictOldest(): void {
    const chunk = this.#chunks[this.#head]!;
    const start = this.#starts[this.#head]!;
    this.#head++;
    this.#retained -= chunk.data.byteLength;
    this.#evictedThrough = chunk.seq;
    this.#evSeq.push(chunk.seq);
    this.#evStart.push(start);
    if (this.#evSeq.length > this.#maxEvicted) {
      const cut = this.#evSeq.length >> 1;
      this.#evSeq = this.#evSeq.slice(cut);
      this.#evStart = this.#evStart.slice(cut);
    }
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
      if (chunks.length > 0 && bytes + chunk.data.byteLength > maxBytes) break;
      chunks.push(chunk);
      bytes += chunk.data.byteLength;
      if (bytes >= maxBytes) break;
    }
    const slice: OutputSlice = { chunks };
    if (afterSeq < this.#evictedThrough) {
      slice.gap = {
        afterSeq,
        throughSeq: this.#evictedThrough,
        bytes: this.#evictedBytesAfter(afterSeq),
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

  #evictedBytesAfter(afterSeq: number): number {
    const end = this.#head < this.#starts.length ? this.#starts[this.#head]! : this.#total;
    // First evicted chunk with seq > afterSeq.
    let lo = 0;
    let hi = this.#evSeq.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.#evSeq[mid]! <= afterSeq) lo = mid + 1;
      else hi = mid;
    }
    // When the index was trimmed and the cursor predates it, this undercounts.
    const from = lo < this.#evStart.length ? this.#evStart[lo]! : end;
    return end - from;
  }
}
