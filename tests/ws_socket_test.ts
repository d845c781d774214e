// Copyright 2026 the exec-server authors. MIT license.
// The server end of a WebSocket (lib/server/ws_socket.ts) over an in-memory
// duplex whose writes the test holds and releases, so a peer's ping can be
// made to arrive at an exact point of a partly written message. The bytes
// written are decoded as a client would and must be intact frames.
import assert from "node:assert/strict";
import { ServerSocket } from "../lib/server/ws_socket.ts";
import { ManualClock } from "./_fakes.ts";
import { concat, waitUntil } from "./_harness.ts";
import { OPCODE } from "./_ws_frames.ts";
import { encodeFrame, Opcode } from "./_wire.ts";

/** A duplex whose reads the test feeds and whose writes it may hold. */
class HeldConn {
  written: Uint8Array[] = [];
  /** Writes in flight (held, not yet resolved). */
  held: (() => void)[] = [];
  hold = false;
  /** Largest write accepted at once. */
  limit = Infinity;
  /** Called at each write, before it resolves (the fuzz sends and pings from here). */
  onWrite: (() => Promise<void>) | null = null;
  closed = false;
  /** Reads asked for: one more after a fed frame means the reader is done with it. */
  readCalls = 0;
  #reads: Uint8Array[] = [];
  #waiting: ((n: Uint8Array | null) => void) | null = null;

  feed(bytes: Uint8Array): void {
    if (this.#waiting) {
      const w = this.#waiting;
      this.#waiting = null;
      w(bytes);
    } else this.#reads.push(bytes);
  }

  /** A read is pending: everything fed was consumed. */
  get waiting(): boolean {
    return this.#waiting !== null;
  }

  read(p: Uint8Array): Promise<number | null> {
    const deliver = (bytes: Uint8Array | null) => {
      if (bytes === null) return null;
      const n = Math.min(p.byteLength, bytes.byteLength);
      p.set(bytes.subarray(0, n));
      if (n < bytes.byteLength) this.#reads.unshift(bytes.subarray(n));
      return n;
    };
    this.readCalls++;
    if (this.closed) return Promise.resolve(null);
    const next = this.#reads.shift();
    if (next) return Promise.resolve(deliver(next));
    return new Promise((resolve) => this.#waiting = (b) => resolve(deliver(b)));
  }

  async write(p: Uint8Array): Promise<number> {
    if (this.closed) throw new Error("closed");
    const n = Math.min(p.byteLength, this.limit);
    this.written.push(p.slice(0, n));
    if (this.hold) await new Promise<void>((resolve) => this.held.push(resolve));
    if (this.onWrite) await this.onWrite();
    return n;
  }

  release(): void {
    this.hold = false;
    for (const r of this.held.splice(0)) r();
  }

  close(): void {
    this.closed = true;
    this.#waiting?.(null);
    this.#waiting = null;
  }
}

function pattern(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = (i * 31 + seed * 7 + (i >> 8)) & 0xff;
  return out;
}

function same(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Decodes what the server wrote: unmasked, unfragmented frames (what
 * ServerSocket sends), with views on the bytes; a truncated last frame is
 * returned with what it has, so a corrupt stream shows as wrong frames.
 */
function decode(conn: HeldConn): { opcode: number; payload: Uint8Array }[] {
  const b = concat(conn.written);
  const frames = [];
  for (let at = 0; at < b.byteLength;) {
    assert.equal(b[at]! & 0xf0, 0x80, `FIN and no RSV bits at ${at}`);
    const opcode = b[at]! & 0x0f;
    let length = b[at + 1]!;
    at += 2;
    if (length === 126) {
      length = (b[at]! << 8) | b[at + 1]!;
      at += 2;
    } else if (length === 127) {
      length = Number(new DataView(b.buffer, b.byteOffset + at, 8).getBigUint64(0));
      at += 8;
    }
    frames.push({ opcode, payload: b.subarray(at, at + length) });
    at += length;
  }
  return frames;
}

function open(conn: HeldConn, clock = new ManualClock()): ServerSocket {
  const socket = new ServerSocket(conn, { maxMessageBytes: 1 << 20, pingMs: 0, clock });
  socket.start({ message: () => undefined, closed() {} });
  return socket;
}

async function finish(socket: ServerSocket, conn: HeldConn): Promise<void> {
  socket.abort();
  conn.close();
  await socket.finished;
}

/**
 * Feeds a ping from the peer and waits until the server handled it (queued
 * its pong): it has read all that was fed and asks for more.
 */
async function ping(conn: HeldConn, payload: Uint8Array): Promise<void> {
  conn.feed(encodeFrame(Opcode.Ping, payload));
  const calls = conn.readCalls;
  await waitUntil(() => conn.readCalls > calls && conn.waiting, {
    timeoutMs: 5000,
    intervalMs: 1,
    message: "the pong to be queued",
  });
}

const BATCH = 256 * 1024; // ws_socket.ts's BATCH_BYTES

Deno.test("ServerSocket: a pong never lands inside a data frame whose header is already written (review ws.md item 1)", async (t) => {
  // A first message is being written (held) while two more are queued; the
  // next write is one batch, which the sizes make end exactly after the
  // third message's header, or in the middle of it.
  for (const cut of [0, 4]) {
    await t.step(`batch ends ${cut ? `${cut} bytes into` : "right after"} the header`, async () => {
      const conn = new HeldConn();
      const socket = open(conn);
      conn.hold = true;
      socket.sendText("go");
      await waitUntil(() => conn.held.length === 1, { timeoutMs: 5000, intervalMs: 1 });
      const a = pattern(BATCH - 10 - 10 + cut, 1); // 10-byte header, then 10 of the next one
      const b = pattern(1 << 20, 2);
      socket.sendBinary(a);
      socket.sendBinary(b);
      conn.held.shift()!();
      await waitUntil(() => conn.held.length === 1 && conn.written.length === 2, {
        timeoutMs: 5000,
        intervalMs: 1,
      });
      // That write holds the second message and at most the third's header
      // (a header is never split now; the old batch took the first 4 bytes).
      const second = conn.written[1]!.byteLength;
      assert.ok(second >= a.byteLength + 10 && second <= BATCH, `second write ${second}`);
      const payload = new Uint8Array([1, 2, 3]);
      await ping(conn, payload);
      conn.release();
      await waitUntil(() => socket.bufferedAmount === 0, { timeoutMs: 5000, intervalMs: 1 });
      // Intact frames; the pong ahead of the third message only if none of
      // it was taken yet (a boundary), else after it.
      const frames = decode(conn);
      const data = frames.filter((f) => f.opcode !== OPCODE.pong);
      const pongs = frames.filter((f) => f.opcode === OPCODE.pong);
      assert.deepEqual(data.map((f) => f.opcode), [OPCODE.text, OPCODE.binary, OPCODE.binary]);
      assert.ok(same(data[1]!.payload, a), "the second message is intact");
      assert.ok(same(data[2]!.payload, b), "the third message is intact");
      assert.deepEqual(pongs.map((f) => [...f.payload]), [[1, 2, 3]]);
      assert.notEqual(frames[1]!.opcode, OPCODE.pong, "not inside the second message's batch");
      await finish(socket, conn);
    });
  }
});

Deno.test("ServerSocket: a pong goes ahead of queued messages, at the next frame boundary, pongs in order", async () => {
  const conn = new HeldConn();
  const socket = open(conn);
  conn.hold = true;
  socket.sendText("x".repeat(300_000)); // partly written: the pongs wait for its end
  await waitUntil(() => conn.held.length === 1, { timeoutMs: 5000, intervalMs: 1 });
  socket.sendText("second");
  await ping(conn, new Uint8Array([1]));
  await ping(conn, new Uint8Array([2]));
  conn.release();
  await waitUntil(() => socket.bufferedAmount === 0, { timeoutMs: 5000, intervalMs: 1 });
  const frames = decode(conn);
  assert.deepEqual(
    frames.map((f) => [f.opcode, f.payload.byteLength]),
    [[OPCODE.text, 300_000], [OPCODE.pong, 1], [OPCODE.pong, 1], [OPCODE.text, 6]],
  );
  assert.deepEqual([frames[1]!.payload[0], frames[2]!.payload[0]], [1, 2]);
  await finish(socket, conn);
});

/** A small seeded PRNG (mulberry32), so a failing round can be replayed. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let r = Math.imul(s ^ (s >>> 15), 1 | s);
    r = (r + Math.imul(r ^ (r >>> 7), 61 | r)) ^ r;
    return ((r ^ (r >>> 14)) >>> 0) / 4294967296;
  };
}

Deno.test("ServerSocket: messages of every size, short writes and pings at every write come out as intact frames, in order", async () => {
  for (let round = 0; round < 30; round++) {
    const rand = prng(round + 1);
    const int = (n: number) => Math.floor(rand() * n);
    const conn = new HeldConn();
    const socket = open(conn);
    const sent: { opcode: number; payload: Uint8Array }[] = [];
    const pings: Uint8Array[] = [];
    let id = 0;
    let big = 0;
    const send = () => {
      const r = rand();
      // Mostly tiny frames (headers are a big share of their bytes, so batch
      // ends fall in them), some medium (16-bit lengths), and up to two
      // bigger than a batch (64-bit lengths, written without a copy).
      const size = r < 0.985
        ? int(12)
        : r < 0.9999 || big >= 2
        ? 100 + int(1000)
        : (big++, BATCH - 64 + int(300_000));
      const payload = pattern(size, id++);
      if (int(2)) {
        for (let i = 0; i < size; i++) payload[i] = 97 + (payload[i]! % 26);
        sent.push({ opcode: OPCODE.text, payload }); // first: the send may write, and so send again
        socket.sendText(new TextDecoder().decode(payload));
      } else {
        sent.push({ opcode: OPCODE.binary, payload });
        socket.sendBinary(payload);
      }
    };
    let writes = 0;
    conn.limit = 1 + int(BATCH * 2);
    conn.onWrite = async () => {
      if (writes++ > 200) {
        conn.limit = Infinity;
        return;
      }
      conn.limit = 1 + int(int(2) ? 64 : BATCH * 2);
      for (let i = int(3); i > 0; i--) send();
      if (int(3)) {
        const payload = pattern(int(126), 1000 + pings.length);
        pings.push(payload);
        await ping(conn, payload);
      }
    };
    // Enough to be queued past a batch or two.
    for (let i = 1 + int(40_000); i > 0; i--) send();
    await waitUntil(() => socket.bufferedAmount === 0, { timeoutMs: 20_000, intervalMs: 1 });
    const frames = decode(conn);
    const data = frames.filter((f) => f.opcode !== OPCODE.pong);
    const pongs = frames.filter((f) => f.opcode === OPCODE.pong);
    assert.equal(data.length, sent.length, `round ${round}: every message, no more`);
    for (let i = 0; i < sent.length; i++) {
      assert.equal(data[i]!.opcode, sent[i]!.opcode, `round ${round}: message ${i}'s opcode`);
      assert.ok(same(data[i]!.payload, sent[i]!.payload), `round ${round}: message ${i} intact`);
    }
    assert.equal(pongs.length, pings.length, `round ${round}: a pong per ping`);
    for (let i = 0; i < pings.length; i++) {
      assert.ok(same(pongs[i]!.payload, pings[i]!), `round ${round}: pong ${i} echoes ping ${i}`);
    }
    await finish(socket, conn);
  }
});

Deno.test("ServerSocket: a closed socket holds no buffers (its read buffers and write batch are let go)", async () => {
  const conn = new HeldConn();
  const got: number[] = [];
  const socket = new ServerSocket(conn, {
    maxMessageBytes: 1 << 22,
    pingMs: 0,
    clock: new ManualClock(),
  });
  socket.start({ message: (m) => void got.push(m.length), closed() {} });
  conn.feed(encodeFrame(Opcode.Binary, pattern(1 << 20, 3))); // into the reused payload array
  await waitUntil(() => got.length === 1, { timeoutMs: 5000, intervalMs: 1 });
  socket.sendBinary(pattern(100_000, 4)); // through the write batch
  await waitUntil(() => socket.bufferedAmount === 0, { timeoutMs: 5000, intervalMs: 1 });
  assert.ok(socket.reservedBytes > 1 << 20, `${socket.reservedBytes} bytes held while open`);
  conn.feed(encodeFrame(Opcode.Close, new Uint8Array([0x03, 0xe8])));
  await socket.finished;
  assert.equal(socket.reservedBytes, 0);
  assert.deepEqual(decode(conn).map((f) => f.opcode), [OPCODE.binary, OPCODE.close]);
});
