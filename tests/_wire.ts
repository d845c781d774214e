// Copyright 2026 the exec-server authors. MIT license.
/**
 * A WebSocket client written by hand over a plain TCP (or TLS) connection,
 * for tests that need what a well-behaved client never does: read the HTTP
 * status of a refused upgrade, send frames the browser API cannot (invalid
 * UTF-8 text, raw garbage), or stop reading the socket altogether.
 *
 * @module
 */
import { Opcode } from "../lib/server/ws_frames.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** WebSocket opcodes (the server's own table). */
export { Opcode };

/** One frame received from the server. */
export interface Frame {
  /** Opcode. */
  opcode: number;
  /** Unmasked payload. */
  payload: Uint8Array;
}

/** The server's answer to an upgrade request. */
export interface HandshakeResult {
  /** HTTP status, e.g. 101, 401, 403. */
  status: number;
  /** Response headers, names lowercased. */
  headers: Map<string, string>;
  /** Response body (for refusals), as text. */
  body: string;
}

/** Options for {@linkcode RawSocket.connect}. */
export interface RawConnectOptions {
  /** Extra request headers. */
  headers?: Record<string, string>;
  /** Path of the request. @default {"/"} */
  path?: string;
  /** PEM CA certificates; when set, the connection uses TLS. */
  caCerts?: string[];
  /**
   * Disable Nagle's algorithm (plain TCP only). Without it, a frame sent
   * after one the server does not answer waits for the server's delayed ACK
   * (about 40 ms on Linux).
   */
  noDelay?: boolean;
}

/** Encodes one masked client frame. */
export function encodeFrame(
  opcode: number,
  payload: Uint8Array,
  { fin = true, mask = true } = {},
): Uint8Array {
  const len = payload.byteLength;
  const head: number[] = [(fin ? 0x80 : 0) | opcode];
  const maskBit = mask ? 0x80 : 0;
  if (len < 126) head.push(maskBit | len);
  else if (len < 65536) head.push(maskBit | 126, len >> 8, len & 0xff);
  else {
    head.push(maskBit | 127);
    const big = BigInt(len);
    for (let i = 7; i >= 0; i--) head.push(Number((big >> BigInt(8 * i)) & 0xffn));
  }
  const key = mask ? crypto.getRandomValues(new Uint8Array(4)) : new Uint8Array(0);
  const out = new Uint8Array(head.length + key.length + len);
  out.set(head);
  out.set(key, head.length);
  const body = out.subarray(head.length + key.length);
  body.set(payload);
  if (mask) { for (let i = 0; i < len; i++) body[i]! ^= key[i & 3]!; }
  return out;
}

/** A hand-driven WebSocket client connection. */
export class RawSocket implements AsyncDisposable {
  /** The handshake outcome. */
  readonly handshake: HandshakeResult;
  readonly #conn: Deno.Conn;
  #chunks: Uint8Array[] = [];
  #size = 0;
  #closed = false;

  private constructor(conn: Deno.Conn, handshake: HandshakeResult, rest: Uint8Array) {
    this.#conn = conn;
    this.handshake = handshake;
    this.#push(rest);
  }

  #push(chunk: Uint8Array): void {
    if (chunk.byteLength === 0) return;
    this.#chunks.push(chunk);
    this.#size += chunk.byteLength;
  }

  /** The first `n` buffered bytes as one array (joins chunks as needed). */
  #head(n: number): Uint8Array {
    if (this.#chunks[0]!.byteLength < n) {
      const all = new Uint8Array(this.#size);
      let off = 0;
      for (const c of this.#chunks) {
        all.set(c, off);
        off += c.byteLength;
      }
      this.#chunks = [all];
    }
    return this.#chunks[0]!;
  }

  /**
   * Opens a TCP (or TLS) connection to a `ws://`/`wss://` URL and sends an
   * upgrade request. Resolves after the response head (and, for a refusal,
   * the body) has been read; check `handshake.status`.
   */
  static async connect(url: string, options: RawConnectOptions = {}): Promise<RawSocket> {
    const u = new URL(url.replace(/^ws/, "http"));
    const hostname = u.hostname.replace(/^\[|\]$/g, "");
    const port = Number(u.port);
    const conn: Deno.Conn = options.caCerts
      ? await Deno.connectTls({ hostname, port, caCerts: options.caCerts })
      : await Deno.connect({ hostname, port });
    if (options.noDelay && !options.caCerts) (conn as Deno.TcpConn).setNoDelay(true);
    const key = crypto.getRandomValues(new Uint8Array(16)).toBase64();
    const headers: Record<string, string> = {
      "Host": u.host,
      "Upgrade": "websocket",
      "Connection": "Upgrade",
      "Sec-WebSocket-Key": key,
      "Sec-WebSocket-Version": "13",
      ...options.headers,
    };
    const lines = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join("");
    try {
      await writeAll(conn, encoder.encode(`GET ${options.path ?? "/"} HTTP/1.1\r\n${lines}\r\n`));
      let buf: Uint8Array = new Uint8Array(0);
      let end = -1;
      while ((end = indexOfCrlfCrlf(buf)) < 0) {
        const chunk = await readSome(conn);
        if (chunk === null) throw new Error("connection closed during the handshake");
        buf = concatBytes(buf, chunk);
      }
      const head = decoder.decode(buf.subarray(0, end)).split("\r\n");
      const status = Number(head[0]!.split(" ")[1]);
      const map = new Map<string, string>();
      for (const line of head.slice(1)) {
        const i = line.indexOf(":");
        if (i > 0) map.set(line.slice(0, i).trim().toLowerCase(), line.slice(i + 1).trim());
      }
      let rest: Uint8Array = buf.subarray(end + 4);
      let body = "";
      if (status !== 101) {
        const length = Number(map.get("content-length") ?? "0");
        while (rest.byteLength < length) {
          const chunk = await readSome(conn);
          if (chunk === null) break;
          rest = concatBytes(rest, chunk);
        }
        body = decoder.decode(rest.subarray(0, length));
        rest = new Uint8Array(0);
      }
      return new RawSocket(conn, { status, headers: map, body }, rest);
    } catch (err) {
      conn.close();
      throw err;
    }
  }

  /** Sends raw bytes (no framing). */
  async sendBytes(bytes: Uint8Array): Promise<void> {
    await writeAll(this.#conn, bytes);
  }

  /** Sends one masked frame. */
  async sendFrame(
    opcode: number,
    payload: Uint8Array,
    options: { fin?: boolean; mask?: boolean } = {},
  ): Promise<void> {
    await writeAll(this.#conn, encodeFrame(opcode, payload, options));
  }

  /** Sends a text frame. */
  sendText(text: string): Promise<void> {
    return this.sendFrame(Opcode.Text, encoder.encode(text));
  }

  /** Sends a JSON-RPC message as a text frame. */
  sendJson(message: unknown): Promise<void> {
    return this.sendText(JSON.stringify(message));
  }

  /** Reads the next frame, or null at end of stream. */
  async readFrame(): Promise<Frame | null> {
    for (;;) {
      const frame = this.#parse();
      if (frame) return frame;
      const chunk = await readSome(this.#conn);
      if (chunk === null) return null;
      this.#push(chunk);
    }
  }

  /** Reads frames until a text frame holding a JSON message matching `predicate`. */
  async readJsonUntil(
    predicate: (message: Record<string, unknown>) => boolean,
  ): Promise<Record<string, unknown>> {
    for (;;) {
      const frame = await this.readFrame();
      if (frame === null) throw new Error("connection closed while waiting for a message");
      if (frame.opcode !== Opcode.Text) continue;
      const message = JSON.parse(decoder.decode(frame.payload));
      if (predicate(message)) return message;
    }
  }

  /**
   * Reads (and discards) frames until the server's close frame or the end of
   * the stream; resolves with the close code and reason, if any.
   */
  async readUntilClose(): Promise<{ code: number | null; reason: string }> {
    for (;;) {
      let frame: Frame | null;
      try {
        frame = await this.readFrame();
      } catch {
        return { code: null, reason: "" };
      }
      if (frame === null) return { code: null, reason: "" };
      if (frame.opcode === Opcode.Close) {
        const p = frame.payload;
        if (p.byteLength < 2) return { code: 1005, reason: "" };
        return { code: (p[0]! << 8) | p[1]!, reason: decoder.decode(p.subarray(2)) };
      }
    }
  }

  #parse(): Frame | null {
    if (this.#size < 2) return null;
    let b = this.#head(Math.min(this.#size, 10));
    if (b.byteLength < 2) return null;
    const opcode = b[0]! & 0x0f;
    let len = b[1]! & 0x7f;
    let off = 2;
    if (len === 126) {
      if (b.byteLength < 4) return null;
      len = (b[2]! << 8) | b[3]!;
      off = 4;
    } else if (len === 127) {
      if (b.byteLength < 10) return null;
      len = 0;
      for (let i = 2; i < 10; i++) len = len * 256 + b[i]!;
      off = 10;
    }
    if (this.#size < off + len) return null;
    b = this.#head(off + len);
    const payload = b.slice(off, off + len);
    const rest = b.subarray(off + len);
    this.#chunks.shift();
    this.#size -= off + len;
    if (rest.byteLength > 0) this.#chunks.unshift(rest);
    return { opcode, payload };
  }

  /** Closes the TCP connection abruptly (no close frame). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#conn.close();
    } catch {
      // already closed
    }
  }

  /** Same as {@linkcode RawSocket.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    this.close();
    return Promise.resolve();
  }
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let off = 0;
  while (off < bytes.byteLength) off += await conn.write(bytes.subarray(off));
}

async function readSome(conn: Deno.Conn): Promise<Uint8Array | null> {
  const buf = new Uint8Array(64 * 1024);
  const n = await conn.read(buf);
  return n === null ? null : buf.subarray(0, n);
}

function indexOfCrlfCrlf(b: Uint8Array): number {
  for (let i = 0; i + 3 < b.byteLength; i++) {
    if (b[i] === 13 && b[i + 1] === 10 && b[i + 2] === 13 && b[i + 3] === 10) return i;
  }
  return -1;
}

function concatBytes(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.byteLength === 0) return b;
  const out = new Uint8Array(a.byteLength + b.byteLength);
  out.set(a);
  out.set(b, a.byteLength);
  return out;
}

/** Resident set size of a process in KiB, from /proc (0 when it is gone). */
export function rssKib(pid: number): number {
  try {
    const status = Deno.readTextFileSync(`/proc/${pid}/status`);
    return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  } catch {
    return 0;
  }
}

/**
 * Pids of processes whose command line is `argv` (scans /proc). The program
 * is compared by base name, since the spawner may have resolved it on PATH.
 */
export function pidsByArgv(argv: string[]): number[] {
  const base = (p: string) => p.slice(p.lastIndexOf("/") + 1);
  const want = [base(argv[0]!), ...argv.slice(1)].join("\0");
  const out: number[] = [];
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      const parts = Deno.readTextFileSync(`/proc/${e.name}/cmdline`).split("\0").slice(0, -1);
      if (parts.length === 0) continue;
      if ([base(parts[0]!), ...parts.slice(1)].join("\0") === want) out.push(Number(e.name));
    } catch {
      // gone
    }
  }
  return out;
}

/** Bytes a process has written so far (`wchar` of /proc/PID/io), or null. */
export function bytesWritten(pid: number): number | null {
  try {
    const io = Deno.readTextFileSync(`/proc/${pid}/io`);
    return Number(/wchar:\s+(\d+)/.exec(io)?.[1]);
  } catch {
    return null;
  }
}

/** The TCP address of a `ws://` (or `wss://`) URL, for `Deno.connect`. */
export function addr(url: string): { hostname: string; port: number } {
  const u = new URL(url.replace(/^ws/, "http"));
  return { hostname: u.hostname.replace(/^\[|\]$/g, ""), port: Number(u.port) };
}

/** Closes every connection, ignoring those the server closed already. */
export function closeAll(conns: { close(): void }[]): void {
  for (const c of conns) {
    try {
      c.close();
    } catch {
      // closed by the server
    }
  }
}
