// Copyright 2026 the exec-server authors. MIT license.
/**
 * The server end of one WebSocket over a TCP or TLS connection the server
 * accepted itself: messages in (through {@linkcode FrameReader}, with the
 * whole-message limit), frames out through a send queue whose size is the
 * socket's `bufferedAmount`, keepalive pings, and the close handshake.
 *
 * @module
 */
import type { Clock } from "../util/clock.ts";
import { decodeUtf8 } from "../util/bytes.ts";
import { closePayload, FrameReader, Opcode } from "./ws_frames.ts";
import { SendQueue } from "./ws_send_queue.ts";

/** What a {@linkcode ServerSocket} tells its owner. */
export interface SocketHandler {
  /**
   * A message. It must be consumed before this returns (a binary message is
   * a view on the read buffer); a returned promise holds further reading
   * until it settles (the connection's backpressure). `bytes` is its size
   * on the wire (a text message's UTF-8 length, not its string length).
   */
  message(data: string | Uint8Array, bytes: number): Promise<void> | undefined;
  /** The socket stopped being open (either side closed, or it failed); called once. */
  closed(code: number, reason: string): void;
}

/** Options for {@linkcode ServerSocket}. */
export interface ServerSocketOptions {
  /** Largest message, however fragmented. */
  maxMessageBytes: number;
  /** Keepalive interval in ms: ping after half of it silent, drop after the other half; 0 for none. */
  pingMs: number;
  /** The clock of the keepalive and close timers. */
  clock: Clock;
  /** Bytes read past the HTTP request head. @default {empty} */
  initial?: Uint8Array;
  /** How long a close waits for the peer's close frame before dropping the TCP connection. @default {2000} */
  closeTimeoutMs?: number;
}

/** The connection a {@linkcode ServerSocket} runs over (a `Deno.Conn` fits). */
export interface Duplex {
  /** Reads into `p`; null at end of stream. */
  read(p: Uint8Array): Promise<number | null>;
  /** Writes some of `p`; resolves with how much. */
  write(p: Uint8Array): Promise<number>;
  /** Closes both directions. */
  close(): void;
}

const encoder = new TextEncoder();

/**
 * Queued frames are copied into writes of up to this many bytes (one write
 * for many small frames; payloads of DIRECT_BYTES or more are written
 * without a copy, see ws_send_queue.ts).
 */
const BATCH_BYTES = 256 * 1024;
/**
 * The smallest batch array. It grows (by powers of two, up to
 * {@linkcode BATCH_BYTES}) only when more is queued at once, and is let go
 * by a keepalive tick that finds it unused, so an idle connection keeps a
 * few KiB, not a quarter MiB.
 */
const MIN_BATCH_BYTES = 8 * 1024;
/** The read buffer of a connection (larger messages are read into arrays of their own). */
const READ_BUFFER_BYTES = 16 * 1024;

/** How long one socket may parse buffered frames before yielding to the event loop, in ms. */
const SLICE_MS = 4;

/**
 * One WebSocket, server side.
 *
 * @example Over an in-memory duplex
 * ```ts
 * import { ServerSocket } from "./ws_socket.ts";
 * import { SYSTEM_CLOCK } from "../util/clock.ts";
 * import assert from "node:assert/strict";
 * const frame = new Uint8Array([0x81, 0x82, 0, 0, 0, 0, 104, 105]); // "hi", masked
 * const written: Uint8Array[] = [];
 * let fed = false;
 * const socket = new ServerSocket({
 *   read: (p) => {
 *     if (fed) return new Promise(() => {});
 *     fed = true;
 *     p.set(frame);
 *     return Promise.resolve(frame.byteLength);
 *   },
 *   write: (p) => (written.push(p.slice()), Promise.resolve(p.byteLength)),
 *   close() {},
 * }, { maxMessageBytes: 1024, pingMs: 0, clock: SYSTEM_CLOCK, closeTimeoutMs: 10 });
 * const got = Promise.withResolvers<string | Uint8Array>();
 * socket.start({ message: (m) => void got.resolve(m), closed() {} });
 * assert.equal(await got.promise, "hi");
 * socket.sendText("ok");
 * socket.close(1000, "bye");
 * await socket.finished;
 * assert.deepEqual([...written[0]!.subarray(0, 4)], [0x81, 2, 111, 107]);
 * ```
 */
export class ServerSocket {
  readonly #conn: Duplex;
  readonly #options: ServerSocketOptions;
  readonly #reader: FrameReader;
  readonly #finished = Promise.withResolvers<void>();
  #handler: SocketHandler | null = null;
  #queue = new SendQueue();
  #queued = 0; // bytes queued or being written
  #writing = false;
  #batch: Uint8Array | null = null;
  #batchUsed = false; // a write used the batch since the last keepalive tick
  #open = true; // frames may be sent and messages are delivered
  #closeSent = false;
  #peerClosed = false;
  #endWhenFlushed = false;
  #ended = false;
  #closedReported = false;
  #paused = false; // reading is held by the handler's backpressure
  #heard = false; // bytes arrived since the last keepalive tick
  #reads = 0; // reads from the connection (each one a turn of the event loop)
  #pingOut = false;
  #cancelPing: () => void = () => {};
  #cancelClose: () => void = () => {};

  /** Wraps `conn`; call {@linkcode start} to begin reading. */
  constructor(conn: Duplex, options: ServerSocketOptions) {
    this.#conn = conn;
    this.#options = options;
    const source = {
      read: async (p: Uint8Array) => {
        const n = await conn.read(p);
        this.#reads++;
        if (n) this.#heard = true;
        return n;
      },
    };
    this.#reader = new FrameReader(source, {
      maxMessageBytes: options.maxMessageBytes,
      bufferBytes: READ_BUFFER_BYTES,
      ...(options.initial ? { initial: options.initial } : {}),
    });
  }

  /** Bytes queued for the peer and not yet handed to the OS. */
  get bufferedAmount(): number {
    return this.#queued;
  }

  /**
   * Bytes of buffers the socket holds: its read buffers and its write batch
   * (what is queued is {@linkcode bufferedAmount}). None once the connection
   * is closed: a session outliving its socket keeps none of its memory.
   */
  get reservedBytes(): number {
    return this.#reader.reservedBytes + (this.#batch?.byteLength ?? 0);
  }

  /** True until either side began closing. */
  get open(): boolean {
    return this.#open;
  }

  /** Resolves once the TCP connection is closed. */
  get finished(): Promise<void> {
    return this.#finished.promise;
  }

  /** Starts reading (and the keepalive). */
  start(handler: SocketHandler): void {
    this.#handler = handler;
    void this.#readLoop();
    const pingMs = this.#options.pingMs;
    if (pingMs > 0) this.#keepalive(pingMs / 2);
  }

  /** Sends a text message. */
  sendText(text: string): void {
    if (!this.#open) return;
    this.sendUtf8(encoder.encode(text));
  }

  /**
   * Sends a text message already encoded as UTF-8 (the caller measured it).
   * The bytes are sent later, as they are then: do not change them.
   */
  sendUtf8(payload: Uint8Array): void {
    if (!this.#open) return;
    this.#enqueue(Opcode.Text, payload);
  }

  /** Sends a binary message. The bytes are sent later, as they are then: do not change them. */
  sendBinary(data: Uint8Array): void {
    if (!this.#open) return;
    this.#enqueue(Opcode.Binary, data);
  }

  /**
   * Starts the close handshake: queued frames go first, then the close
   * frame; the TCP connection ends when the peer answers, or after the close
   * timeout. Idempotent.
   */
  close(code: number, reason: string): void {
    if (this.#ended) return;
    this.#stopOpen(code, reason);
    this.#sendClose(code, reason);
    this.#cancelClose();
    this.#cancelClose = this.#options.clock.setTimer(
      () => this.#end(),
      this.#options.closeTimeoutMs ?? 2000,
    );
    if (this.#peerClosed) this.#endAfterFlush();
  }

  /** Drops the TCP connection now, without a close handshake. */
  abort(): void {
    this.#stopOpen(1006, "aborted");
    this.#end();
  }

  #stopOpen(code: number, reason: string): void {
    if (!this.#open) return;
    this.#open = false;
    if (!this.#closedReported) {
      this.#closedReported = true;
      this.#handler?.closed(code, reason);
    }
  }

  #sendClose(code: number | null, reason: string): void {
    if (this.#closeSent) return;
    this.#closeSent = true;
    const payload = code === null ? new Uint8Array(0) : closePayload(code, reason);
    this.#enqueue(Opcode.Close, payload);
  }

  async #readLoop(): Promise<void> {
    const clock = this.#options.clock;
    let sliceStart = clock.now();
    let reads = this.#reads;
    for (;;) {
      // Frames already buffered are parsed without ever leaving the
      // microtask queue (a read from the connection is a turn of the event
      // loop, a buffered frame is not): after a few ms of that, let the
      // event loop serve the other connections before going on.
      if (this.#reads !== reads) {
        reads = this.#reads;
        sliceStart = clock.now();
      } else if (clock.now() - sliceStart >= SLICE_MS) {
        await new Promise<void>((resolve) => clock.setTimer(resolve, 0));
        sliceStart = clock.now();
      }
      const ev = await this.#reader.next().catch(() => ({ type: "end" as const }));
      if (this.#ended) return;
      switch (ev.type) {
        case "message": {
          if (!this.#open) break; // closing: what still arrives is dropped
          let data: string | Uint8Array = ev.data;
          const bytes = ev.data.byteLength;
          if (!ev.binary) {
            try {
              data = decodeUtf8(ev.data);
            } catch {
              this.close(1007, "invalid UTF-8 in a text message");
              this.#endAfterFlush();
              return;
            }
          }
          const wait = this.#handler?.message(data, bytes);
          if (wait) {
            this.#paused = true;
            await wait;
            this.#paused = false;
          }
          break;
        }
        case "ping":
          if (!this.#closeSent) this.#enqueueControl(Opcode.Pong, ev.data.slice());
          break;
        case "pong":
          break;
        case "close":
          this.#peerClosed = true;
          this.#stopOpen(ev.code ?? 1005, ev.reason);
          this.#sendClose(ev.code, "");
          this.#endAfterFlush();
          return;
        case "error": {
          // Say why. Past a message that is too big the stream is still
          // sound, so the peer's close can be heard; past a protocol error
          // it is not, so what comes is dropped until the close timeout.
          const first = !this.#closeSent;
          this.close(ev.code, ev.reason);
          if (ev.code === 1009 && first) break;
          await this.#drainRaw();
          this.#end();
          return;
        }
        case "end":
          this.#stopOpen(1006, "connection ended without a close frame");
          this.#end();
          return;
      }
    }
  }

  /** Reads and drops everything until the peer hangs up (or the close timeout ends it). */
  async #drainRaw(): Promise<void> {
    const sink = new Uint8Array(16 * 1024);
    try {
      while (!this.#ended && await this.#conn.read(sink) !== null) {
        // dropped
      }
    } catch {
      // closed
    }
  }

  #keepalive(everyMs: number): void {
    const tick = () => {
      if (this.#ended || this.#closeSent) return;
      this.#reader.trim();
      if (!this.#batchUsed && !this.#writing) this.#batch = null;
      this.#batchUsed = false;
      if (this.#heard || this.#paused) {
        this.#heard = false;
        this.#pingOut = false;
      } else if (this.#pingOut) {
        this.close(1001, "No response from ping frame.");
        return;
      } else {
        this.#pingOut = true;
        this.#enqueueControl(Opcode.Ping, new Uint8Array(0));
      }
      this.#cancelPing = this.#options.clock.setTimer(tick, everyMs);
    };
    this.#cancelPing = this.#options.clock.setTimer(tick, everyMs);
  }

  /**
   * A control frame (payload of at most 125 bytes) goes ahead of queued
   * messages, at the next frame boundary: never into the middle of a frame
   * that is partly written, whose header already announced its length.
   */
  #enqueueControl(opcode: number, payload: Uint8Array): void {
    if (this.#ended) return;
    this.#queued += this.#queue.pushControl(opcode, payload);
    this.#kick();
  }

  #enqueue(opcode: number, payload: Uint8Array): void {
    if (this.#ended) return;
    this.#queued += this.#queue.push(opcode, payload);
    this.#kick();
  }

  #kick(): void {
    if (this.#writing) return;
    this.#writing = true;
    void this.#flush();
  }

  async #flush(): Promise<void> {
    try {
      while (!this.#queue.empty && !this.#ended) {
        const batch = this.#batchFor(this.#queued);
        const n = this.#queue.fill(batch);
        if (n > 0) {
          await this.#writeAll(batch.subarray(0, n));
          this.#queued -= n;
        }
        // A big payload goes out as it is, without a copy.
        const direct = this.#queue.takeDirect();
        if (direct) {
          await this.#writeAll(direct);
          this.#queued -= direct.byteLength;
        }
      }
    } catch {
      // The peer is gone (reset, broken pipe).
      this.#stopOpen(1006, "write failed");
      this.#end();
    } finally {
      this.#writing = false;
    }
    if (this.#endWhenFlushed) this.#end();
  }

  /** The batch array, grown to hold `queued` bytes (within the bounds). */
  #batchFor(queued: number): Uint8Array {
    this.#batchUsed = true;
    const have = this.#batch?.byteLength ?? 0;
    if (have >= BATCH_BYTES || have >= queued) return this.#batch!;
    let size = Math.max(have, MIN_BATCH_BYTES);
    while (size < queued && size < BATCH_BYTES) size *= 2;
    return this.#batch = new Uint8Array(Math.min(size, BATCH_BYTES));
  }

  async #writeAll(bytes: Uint8Array): Promise<void> {
    let off = 0;
    while (off < bytes.byteLength) off += await this.#conn.write(bytes.subarray(off));
  }

  #endAfterFlush(): void {
    if (!this.#writing && this.#queue.empty) this.#end();
    else this.#endWhenFlushed = true;
  }

  #end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#stopOpen(1006, "connection closed");
    this.#cancelPing();
    this.#cancelClose();
    this.#queue.clear();
    this.#queued = 0;
    this.#batch = null;
    this.#reader.release();
    try {
      this.#conn.close();
    } catch {
      // already closed
    }
    this.#finished.resolve();
  }
}
