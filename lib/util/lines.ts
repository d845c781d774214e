// Copyright 2026 the exec-server authors. MIT license.
/**
 * The one line splitter, for every newline-delimited stream: the stdio
 * server's input, the client's stdio connector, the MCP transport and the
 * `mcp-bridge` command. Works on bytes, so a line is cut at `\n` before it is
 * decoded (a `\n` byte never occurs inside a multi-byte UTF-8 character).
 *
 * @module
 */
import { concatBytes } from "./bytes.ts";

const NEWLINE = 0x0a;
const RETURN = 0x0d;

/** A line over the limit, dropped: `tooLong` is its length in bytes. */
export interface TooLongLine {
  /** How many bytes the line had (without its `\n`). */
  tooLong: number;
}

/** One line without its `\n` (or `\r\n`), or a line that was too long. */
export type Line = Uint8Array | TooLongLine;

/** Options for {@linkcode LineSplitter} and {@linkcode readLines}. */
export interface LineSplitterOptions {
  /**
   * The longest line kept, in bytes without the `\n`. A longer one is not
   * buffered: it comes out as one {@linkcode TooLongLine} when it ends.
   * @default {Infinity}
   */
  maxLineBytes?: number;
}

/**
 * Splits a byte stream into lines, fed chunk by chunk. A line ends at `\n`;
 * a `\r` before it is dropped, and empty lines are skipped. The lines handed
 * out are copies, so a caller may reuse its chunk buffers.
 *
 * @example
 * ```ts
 * import { LineSplitter } from "./lines.ts";
 * import assert from "node:assert/strict";
 * const text = (lines: unknown[]) =>
 *   lines.map((l) => l instanceof Uint8Array ? new TextDecoder().decode(l) : l);
 * const split = new LineSplitter({ maxLineBytes: 5 });
 * const bytes = (s: string) => new TextEncoder().encode(s);
 * assert.deepEqual(text(split.push(bytes("one\r\ntw"))), ["one"]);
 * assert.deepEqual(text(split.push(bytes("o\n\ntoo long\nend"))), ["two", { tooLong: 8 }]);
 * assert.equal(split.overLimit, false);
 * split.push(bytes("endless"));
 * assert.equal(split.overLimit, true); // the line it is in is already too long
 * assert.deepEqual(text(split.end()), [{ tooLong: 10 }]);
 * ```
 */
export class LineSplitter {
  readonly #maxLineBytes: number;
  #pending: Uint8Array[] = [];
  #pendingBytes = 0;
  #lastByte = -1;

  /** Creates a splitter with nothing pending. */
  constructor(options: LineSplitterOptions = {}) {
    this.#maxLineBytes = options.maxLineBytes ?? Infinity;
  }

  /** Feeds one chunk; returns the lines it completes, in order. */
  push(chunk: Uint8Array): Line[] {
    const lines: Line[] = [];
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(NEWLINE, start);
      this.#add(chunk.subarray(start, nl === -1 ? chunk.byteLength : nl));
      if (nl === -1) return lines;
      this.#finish(lines);
      start = nl + 1;
    }
  }

  /**
   * Whether the unfinished line is already longer than `maxLineBytes`, so a
   * reader need not wait for its end to know (its bytes are not kept).
   */
  get overLimit(): boolean {
    // One byte over is kept for a `\r` that may yet end in `\n`.
    return this.#pendingBytes > this.#maxLineBytes + 1;
  }

  /** Ends the input: returns the last line when it had no `\n`. */
  end(): Line[] {
    const lines: Line[] = [];
    this.#finish(lines);
    return lines;
  }

  #add(piece: Uint8Array): void {
    if (piece.byteLength === 0) return;
    // One byte over the limit is kept: it may be the `\r` of a `\r\n`.
    const keep = this.#maxLineBytes + 1;
    const kept = this.#pendingBytes <= keep;
    this.#pendingBytes += piece.byteLength;
    this.#lastByte = piece[piece.byteLength - 1]!;
    if (this.#pendingBytes <= keep) this.#pending.push(new Uint8Array(piece)); // a copy
    else if (kept) this.#pending = [];
  }

  #finish(lines: Line[]): void {
    const bytes = this.#pendingBytes - (this.#lastByte === RETURN ? 1 : 0);
    const parts = this.#pending;
    this.#pending = [];
    this.#pendingBytes = 0;
    this.#lastByte = -1;
    if (bytes > this.#maxLineBytes) lines.push({ tooLong: bytes });
    else if (bytes > 0) lines.push(concatBytes(parts).subarray(0, bytes));
  }
}

/**
 * Reads `reader` to its end as lines (see {@linkcode LineSplitter}).
 *
 * @example
 * ```ts
 * import { readLines } from "./lines.ts";
 * import assert from "node:assert/strict";
 * const input = ReadableStream.from([new TextEncoder().encode("a\nb")]);
 * const lines: string[] = [];
 * for await (const line of readLines(input.getReader())) {
 *   if (line instanceof Uint8Array) lines.push(new TextDecoder().decode(line));
 * }
 * assert.deepEqual(lines, ["a", "b"]);
 * ```
 */
export async function* readLines(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  options: LineSplitterOptions = {},
): AsyncGenerator<Line> {
  const splitter = new LineSplitter(options);
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    yield* splitter.push(value);
  }
  yield* splitter.end();
}
