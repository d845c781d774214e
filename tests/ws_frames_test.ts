// Copyright 2026 the exec-server authors. MIT license.
// RFC 6455 framing without sockets: client frames from an in-memory source
// that counts what the reader asked for, so the tests can prove that a
// message over the limit is refused before it is buffered.
import assert from "node:assert/strict";
import { encodeFrame, Opcode } from "./_wire.ts";
import { frameHeader, FrameReader, unmask } from "../lib/server/ws_frames.ts";

const encoder = new TextEncoder();

/** A source that hands out `bytes` in reads of at most `chunk` bytes, and counts them. */
function source(bytes: Uint8Array, chunk = 64 * 1024) {
  let off = 0;
  const src = {
    delivered: 0,
    read(p: Uint8Array): Promise<number | null> {
      if (off >= bytes.byteLength) return Promise.resolve(null);
      const n = Math.min(p.byteLength, chunk, bytes.byteLength - off);
      p.set(bytes.subarray(off, off + n));
      off += n;
      src.delivered += n;
      return Promise.resolve(n);
    },
  };
  return src;
}

function join(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.byteLength;
  }
  return out;
}

function text(s: string, options?: { fin?: boolean }): Uint8Array {
  return encodeFrame(Opcode.Text, encoder.encode(s), options);
}

async function events(bytes: Uint8Array, maxMessageBytes = 1 << 20, chunk?: number) {
  const reader = new FrameReader(source(bytes, chunk), { maxMessageBytes });
  const out: unknown[] = [];
  for (;;) {
    const ev = await reader.next();
    if (ev.type === "message") {
      out.push({ message: ev.binary ? [...ev.data] : new TextDecoder().decode(ev.data) });
    } else if (ev.type === "ping" || ev.type === "pong") {
      out.push({ [ev.type]: ev.data.byteLength });
    } else out.push(ev);
    if (ev.type === "end" || ev.type === "error" || ev.type === "close") return out;
  }
}

Deno.test("unmask() matches a bytewise XOR at every alignment and length", () => {
  const key = new Uint8Array([0x37, 0xfa, 0x21, 0x3d]);
  const backing = new Uint8Array(300).map((_, i) => (i * 7) & 0xff);
  for (let offset = 0; offset < 4; offset++) {
    for (const length of [0, 1, 2, 3, 4, 5, 7, 8, 9, 63, 64, 65, 255]) {
      for (const words of [false, true]) {
        const copy = backing.slice(0, 299); // a buffer that is not whole words
        const data = copy.subarray(offset + 299 - 255 - 4, offset + 299 - 255 - 4 + length);
        const expected = data.map((b, i) => b ^ key[i & 3]!);
        unmask(data, key, words ? new Uint32Array(copy.buffer, 0, 299 >> 2) : undefined);
        assert.deepEqual([...data], [...expected], `offset ${offset}, length ${length}`);
        assert.deepEqual([...copy.subarray(0, data.byteOffset)], [
          ...backing.subarray(0, data.byteOffset),
        ]);
      }
    }
  }
});

Deno.test("frameHeader() uses the 7-bit, 16-bit and 64-bit length forms", () => {
  assert.deepEqual([...frameHeader(Opcode.Text, 125)], [0x81, 125]);
  assert.deepEqual([...frameHeader(Opcode.Text, 126)], [0x81, 126, 0, 126]);
  assert.deepEqual([...frameHeader(Opcode.Binary, 65535)], [0x82, 126, 0xff, 0xff]);
  assert.deepEqual([...frameHeader(Opcode.Binary, 65536)], [0x82, 127, 0, 0, 0, 0, 0, 1, 0, 0]);
  assert.deepEqual([...frameHeader(Opcode.Close, 0)], [0x88, 0]);
});

Deno.test("FrameReader: whole, fragmented and interleaved messages, byte by byte too", async () => {
  const bytes = join(
    text("one"),
    encodeFrame(Opcode.Binary, new Uint8Array([1, 2, 3])),
    text("fr", { fin: false }),
    encodeFrame(Opcode.Ping, new Uint8Array(5)),
    encodeFrame(Opcode.Continuation, encoder.encode("ag"), { fin: false }),
    encodeFrame(Opcode.Continuation, encoder.encode("ment")),
    encodeFrame(Opcode.Close, new Uint8Array([0x03, 0xe8, 0x62, 0x79, 0x65])),
  );
  const expected = [
    { message: "one" },
    { message: [1, 2, 3] },
    { ping: 5 },
    { message: "fragment" },
    { type: "close", code: 1000, reason: "bye" },
  ];
  assert.deepEqual(await events(bytes), expected);
  assert.deepEqual(await events(bytes, 1 << 20, 1), expected, "one byte per read");
});

Deno.test("FrameReader: a payload bigger than the read buffer is read straight into an array past it", async () => {
  const big = new Uint8Array(200_000).map((_, i) => i & 0xff);
  const reader = new FrameReader(source(encodeFrame(Opcode.Binary, big)), {
    maxMessageBytes: 1 << 20,
    bufferBytes: 1024,
  });
  const ev = await reader.next();
  assert.equal(ev.type, "message");
  assert.ok(ev.type === "message" && ev.data.byteLength === 200_000);
  assert.ok(ev.type === "message" && ev.data.every((b, i) => b === (i & 0xff)));
});

Deno.test("FrameReader: a message in 1 MiB fragments is refused at the header that passes the limit, before it is buffered (issue 15 row 2)", async () => {
  const limit = 4 * 1024 * 1024;
  const part = new Uint8Array(1024 * 1024);
  const frames = [encodeFrame(Opcode.Text, part, { fin: false })];
  for (let i = 0; i < 9; i++) frames.push(encodeFrame(Opcode.Continuation, part, { fin: false }));
  const src = source(join(...frames));
  const reader = new FrameReader(src, { maxMessageBytes: limit });
  const ev = await reader.next();
  assert.deepEqual(ev, {
    type: "error",
    code: 1009,
    reason: `message too big: ${5 * 1024 * 1024} bytes exceeds the limit of ${limit}`,
  });
  // Four fragments and the fifth header, give or take one read.
  assert.ok(src.delivered <= limit + 64 * 1024 + 64, `read ${src.delivered} bytes`);
  // One frame just over the limit is refused on its header alone.
  const one = source(encodeFrame(Opcode.Binary, new Uint8Array(limit + 1)));
  const ev1 = await new FrameReader(one, { maxMessageBytes: limit }).next();
  assert.equal(ev1.type === "error" && ev1.code, 1009);
  assert.ok(one.delivered <= 64 * 1024, `read ${one.delivered} bytes`);
});

Deno.test("FrameReader: after 1009 the refused payload is skipped and the peer's close is still heard", async () => {
  const bytes = join(
    text("x".repeat(5000)),
    encodeFrame(Opcode.Close, new Uint8Array([0x03, 0xe8])),
  );
  const reader = new FrameReader(source(bytes, 700), { maxMessageBytes: 4096 });
  assert.equal((await reader.next()).type, "error");
  assert.deepEqual(await reader.next(), { type: "close", code: 1000, reason: "" });
});

Deno.test("FrameReader: many tiny fragments cost their bytes, not an array each", async () => {
  const frames = [text("a", { fin: false })];
  for (let i = 0; i < 20_000; i++) {
    frames.push(encodeFrame(Opcode.Continuation, encoder.encode("b"), { fin: false }));
  }
  frames.push(encodeFrame(Opcode.Continuation, encoder.encode("c")));
  const [ev] = await events(join(...frames));
  assert.deepEqual(ev, { message: "a" + "b".repeat(20_000) + "c" });
});

Deno.test("FrameReader: protocol violations are 1002 (1007 for a close reason that is not UTF-8)", async () => {
  const cases: [string, Uint8Array, number][] = [
    ["unmasked", encodeFrame(Opcode.Text, encoder.encode("x"), { mask: false }), 1002],
    [
      "reserved bits",
      (() => {
        const f = text("x");
        f[0]! |= 0x40;
        return f;
      })(),
      1002,
    ],
    ["unknown opcode", encodeFrame(0x3, new Uint8Array(1)), 1002],
    ["unknown control opcode", encodeFrame(0xb, new Uint8Array(1)), 1002],
    ["long control frame", encodeFrame(Opcode.Ping, new Uint8Array(126)), 1002],
    ["fragmented control frame", encodeFrame(Opcode.Ping, new Uint8Array(1), { fin: false }), 1002],
    ["continuation first", encodeFrame(Opcode.Continuation, new Uint8Array(1)), 1002],
    ["new message mid-fragment", join(text("a", { fin: false }), text("b")), 1002],
    [
      "64-bit length beyond 2^53",
      new Uint8Array([0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4]),
      1002,
    ],
    ["one-byte close", encodeFrame(Opcode.Close, new Uint8Array([3])), 1002],
    ["close code 1005", encodeFrame(Opcode.Close, new Uint8Array([0x03, 0xed])), 1002],
    ["close reason not UTF-8", encodeFrame(Opcode.Close, new Uint8Array([0x03, 0xe8, 0xff])), 1007],
  ];
  for (const [name, bytes, code] of cases) {
    const out = await events(bytes);
    const last = out.at(-1) as { type: string; code: number };
    assert.equal(last.type, "error", name);
    assert.equal(last.code, code, name);
  }
});

Deno.test("FrameReader: bytes read past the request head come first; a truncated frame is the end", async () => {
  const frame = text("early");
  const reader = new FrameReader(source(new Uint8Array(0)), { initial: frame });
  const ev = await reader.next();
  assert.equal(ev.type === "message" && new TextDecoder().decode(ev.data), "early");
  assert.deepEqual(await events(text("cut").subarray(0, 6)), [{ type: "end" }]);
});

Deno.test("FrameReader: big payloads reuse one array, which an idle reader lets go", async () => {
  const a = new Uint8Array(300_000).fill(1);
  const b = new Uint8Array(200_000).fill(2);
  const huge = new Uint8Array(5 * 1024 * 1024).fill(3);
  const reader = new FrameReader(
    source(
      join(
        encodeFrame(Opcode.Binary, a),
        encodeFrame(Opcode.Binary, b),
        encodeFrame(Opcode.Binary, huge),
      ),
    ),
    { maxMessageBytes: 8 * 1024 * 1024 },
  );
  const first = await reader.next();
  assert.ok(first.type === "message" && first.data.every((x) => x === 1));
  const buffer = first.type === "message" ? first.data.buffer : null;
  const second = await reader.next();
  assert.ok(second.type === "message" && second.data.every((x) => x === 2));
  assert.equal(second.type === "message" && second.data.buffer, buffer, "the same array");
  const third = await reader.next();
  assert.ok(third.type === "message" && third.data.byteLength === huge.byteLength);
  assert.notEqual(third.type === "message" && third.data.buffer, buffer, "past 4 MiB: its own");
  const held = reader.reservedBytes;
  assert.ok(held >= 300_000);
  reader.trim(); // used since the last trim: kept
  assert.equal(reader.reservedBytes, held);
  reader.trim(); // idle since: released
  assert.equal(reader.reservedBytes, 64 * 1024);
});

Deno.test("FrameReader: release() lets go of the buffers and ends a read in progress", async () => {
  let feed: (n: number | null) => void = () => {};
  const reader = new FrameReader({
    read: () => new Promise<number | null>((resolve) => feed = resolve),
  }, { bufferBytes: 4096 });
  assert.equal(reader.reservedBytes, 4096);
  const next = reader.next();
  reader.release();
  feed(2); // the read that was in progress returns after the release
  assert.deepEqual(await next, { type: "end" });
  assert.equal(reader.reservedBytes, 0);
  assert.deepEqual(await reader.next(), { type: "end" });
});
