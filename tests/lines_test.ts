// Copyright 2026 the exec-server authors. MIT license.
import assert from "node:assert/strict";
import fc from "fast-check";
import { type Line, LineSplitter, readLines } from "../lib/util/mod.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function shown(lines: Line[]): (string | { tooLong: number })[] {
  return lines.map((l) => l instanceof Uint8Array ? decoder.decode(l) : l);
}

/** Feeds `text` to a fresh splitter in the given chunk sizes, then ends it. */
function split(text: string, sizes: number[], maxLineBytes?: number) {
  const bytes = encoder.encode(text);
  const splitter = new LineSplitter(maxLineBytes === undefined ? {} : { maxLineBytes });
  const out: Line[] = [];
  let at = 0;
  for (const size of sizes) {
    out.push(...splitter.push(bytes.subarray(at, at + size)));
    at += size;
  }
  out.push(...splitter.push(bytes.subarray(at)), ...splitter.end());
  return shown(out);
}

Deno.test("LineSplitter: lines, \\r\\n, blank lines and the last line without a newline", () => {
  assert.deepEqual(split("a\nbb\r\n\n\r\nccc", []), ["a", "bb", "ccc"]);
  assert.deepEqual(split("only\r", []), ["only"]);
  assert.deepEqual(split("", []), []);
  assert.deepEqual(split("\n\n", []), []);
  assert.deepEqual(split(" \n", []), [" "], "whitespace is content; callers decide");
  assert.deepEqual(split("a\rb\n", []), ["a\rb"], "a \\r inside a line stays");
});

Deno.test("LineSplitter: every chunk boundary gives the same lines", () => {
  const text = "first\r\nsecond\n\nthird ünïcödé\r\nlast";
  const want = ["first", "second", "third ünïcödé", "last"];
  const length = encoder.encode(text).byteLength;
  for (let a = 0; a <= length; a++) {
    for (let b = a; b <= length; b++) {
      assert.deepEqual(split(text, [a, b - a]), want, `cut at ${a} and ${b}`);
    }
  }
});

Deno.test("LineSplitter: the limit counts the line without its \\r\\n", () => {
  assert.deepEqual(split("12345\n", [], 5), ["12345"]);
  assert.deepEqual(split("12345\r\n", [2, 4], 5), ["12345"]);
  assert.deepEqual(split("123456\nok\n", [], 5), [{ tooLong: 6 }, "ok"]);
  assert.deepEqual(split("123456\r\nok\n", [], 5), [{ tooLong: 6 }, "ok"]);
  // A long line is counted to its end across chunks, and not buffered.
  assert.deepEqual(split(`${"x".repeat(100)}\ny`, [3, 10, 50], 5), [{ tooLong: 100 }, "y"]);
  assert.deepEqual(split("1234567", [2], 5), [{ tooLong: 7 }], "at the end, too");
});

Deno.test("LineSplitter: lines are copies, so the caller may reuse its buffer", () => {
  const splitter = new LineSplitter();
  const chunk = encoder.encode("abc\nde");
  const [line] = splitter.push(chunk);
  chunk.fill(0x21);
  assert.deepEqual(shown([line!, ...splitter.end()]), ["abc", "de"]);
});

Deno.test("LineSplitter: any text cut anywhere splits as the lines it was made of", () => {
  const lineArb = fc.string({ unit: "grapheme", maxLength: 20 }).map((s) =>
    s.replaceAll("\n", "").replace(/\r+$/, "")
  );
  fc.assert(
    fc.property(
      fc.array(fc.tuple(lineArb, fc.boolean())),
      fc.array(fc.nat(12), { maxLength: 12 }),
      (lines, sizes) => {
        const text = lines.map(([l, crlf]) => l + (crlf ? "\r\n" : "\n")).join("");
        assert.deepEqual(split(text, sizes), lines.map(([l]) => l).filter((l) => l !== ""));
      },
    ),
  );
});

Deno.test("readLines() reads a stream to its end", async () => {
  const chunks = ['{"a":1}\n{"b"', ":2}\r\n", "x".repeat(20), "\ntail"].map((s) =>
    encoder.encode(s)
  );
  const got: Line[] = [];
  for await (
    const line of readLines(ReadableStream.from(chunks).getReader(), { maxLineBytes: 10 })
  ) {
    got.push(line);
  }
  assert.deepEqual(shown(got), ['{"a":1}', '{"b":2}', { tooLong: 20 }, "tail"]);
});
