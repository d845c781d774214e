// Copyright 2026 the exec-server authors. MIT license.
/**
 * A sequence-keyed reorder buffer: items arrive in any order, possibly twice,
 * and leave strictly in sequence order. Seqs known to be lost (evicted by the
 * server's retention) are marked so they surface as one explicit gap instead
 * of stalling the stream or being skipped silently. Pure: no I/O.
 *
 * @module
 */

/** Options for {@linkcode ReorderBuffer}. */
export interface ReorderBufferOptions {
  /** The first sequence number expected. @default {1} */
  next?: number;
  /**
   * How far ahead of the next expected seq an item may be before
   * {@linkcode ReorderBuffer.push} refuses it with `"tooFar"` (codex uses 256).
   * @default {256}
   */
  maxGap?: number;
}

/** Outcome of {@linkcode ReorderBuffer.push}. */
export type PushResult = "accepted" | "duplicate" | "tooFar";

/** What {@linkcode ReorderBuffer.drain} hands out, in order. */
export type Delivery<T> =
  | { kind: "item"; seq: number; item: T }
  | { kind: "lost"; afterSeq: number; throughSeq: number; bytes?: number };

interface LostRange {
  from: number;
  through: number;
  bytes?: number;
}

/**
 * Holds out-of-order items until the gap before them fills.
 *
 * @typeParam T The item type.
 *
 * @example Reordering
 * ```ts
 * import { ReorderBuffer } from "./reorder_buffer.ts";
 * import assert from "node:assert/strict";
 * const buf = new ReorderBuffer<string>();
 * buf.push(2, "b");
 * assert.equal(buf.drain().length, 0);
 * buf.push(1, "a");
 * assert.ok(buf.drain().map((d) => d.kind === "item" ? d.item : "").join("") === "ab");
 * ```
 */
export class ReorderBuffer<T> {
  readonly #maxGap: number;
  readonly #held = new Map<number, T>();
  #lost: LostRange[] = [];
  #next: number;

  /** Creates an empty buffer. */
  constructor(options: ReorderBufferOptions = {}) {
    this.#next = options.next ?? 1;
    this.#maxGap = options.maxGap ?? 256;
    if (!Number.isInteger(this.#maxGap) || this.#maxGap < 1) {
      throw new RangeError(
        `Cannot create reorder buffer: maxGap must be a positive integer, received ${this.#maxGap}`,
      );
    }
  }

  /** The next sequence number to be delivered; everything below has been. */
  get next(): number {
    return this.#next;
  }

  /** Number of items waiting for an earlier seq. */
  get held(): number {
    return this.#held.size;
  }

  /** Whether `seq` was delivered or is waiting in the buffer. */
  has(seq: number): boolean {
    return seq < this.#next || this.#held.has(seq);
  }

  /**
   * Adds an item. A seq already delivered or held is a `"duplicate"`; one at
   * least `maxGap` ahead of {@linkcode next} is refused as `"tooFar"` unless
   * `force` is set (items from an explicit read are always accepted).
   */
  push(seq: number, item: T, force = false): PushResult {
    if (this.has(seq) || this.#inLost(seq)) return "duplicate";
    if (!force && seq - this.#next >= this.#maxGap) return "tooFar";
    this.#held.set(seq, item);
    return "accepted";
  }

  /** Marks seqs `afterSeq + 1 … throughSeq` as lost (already passed seqs are ignored). */
  markLost(afterSeq: number, throughSeq: number, bytes?: number): void {
    const from = Math.max(afterSeq + 1, this.#next);
    if (throughSeq < from) return;
    const range: LostRange = { from, through: throughSeq };
    if (bytes !== undefined && from === afterSeq + 1) range.bytes = bytes;
    this.#lost.push(range);
    this.#lost.sort((a, b) => a.from - b.from);
  }

  /**
   * The seqs from {@linkcode next} through `upTo` that are neither held nor
   * lost, at most `limit` of them.
   */
  missing(upTo: number, limit = Infinity): number[] {
    const out: number[] = [];
    for (let s = this.#next; s <= upTo && out.length < limit; s++) {
      if (this.#held.has(s)) continue;
      const lost = this.#lostAt(s);
      if (lost) {
        s = lost.through;
        continue;
      }
      out.push(s);
    }
    return out;
  }

  /** Takes every item (and lost range) that is now next in order. */
  drain(): Delivery<T>[] {
    const out: Delivery<T>[] = [];
    for (;;) {
      const seq = this.#next;
      if (this.#held.has(seq)) {
        const item = this.#held.get(seq)!;
        this.#held.delete(seq);
        this.#next++;
        out.push({ kind: "item", seq, item });
        continue;
      }
      const lost = this.#lostAt(seq);
      if (!lost) break;
      // An item held inside the range (it did arrive) splits the gap around it.
      let through = lost.through;
      for (const held of this.#held.keys()) {
        if (held > seq && held <= through) through = held - 1;
      }
      const gap: Delivery<T> = { kind: "lost", afterSeq: seq - 1, throughSeq: through };
      if (lost.bytes !== undefined && through === lost.through && seq === lost.from) {
        gap.bytes = lost.bytes;
      }
      out.push(gap);
      this.#next = through + 1;
      this.#lost = this.#lost.filter((r) => r.through >= this.#next);
    }
    return out;
  }

  #lostAt(seq: number): LostRange | undefined {
    return this.#lost.find((r) => r.from <= seq && seq <= r.through);
  }

  #inLost(seq: number): boolean {
    return this.#lostAt(seq) !== undefined;
  }
}
