// Copyright 2026 the exec-server authors. MIT license.
/**
 * The HTTP/1.1 the WebSocket edge needs, and no more: read one request head
 * with a size cap (the caller bounds the time), answer it with a plain
 * response, and complete a WebSocket handshake (RFC 6455 section 4.2).
 *
 * @module
 */
import type { ByteSource } from "./ws_frames.ts";

/** A parsed request head; shaped like the parts of a `Request` the upgrade checks read. */
export interface RequestHead {
  /** Method, e.g. `GET`. */
  readonly method: string;
  /** `http://host/target`, for `new URL()`. */
  readonly url: string;
  /** Header fields (repeated ones joined with `, `). */
  readonly headers: Headers;
}

/** What {@linkcode readRequestHead} found. */
export type HeadResult =
  | { ok: true; head: RequestHead; rest: Uint8Array }
  | { ok: false; status: 400 | 431 | 505; reason: string }
  | { ok: false; status: null; reason: string };

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const REQUEST_LINE = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+) (\S+) HTTP\/(\d)\.(\d)$/;
const latin1 = new TextDecoder("latin1");
const encoder = new TextEncoder();

function endOfHead(buf: Uint8Array, from: number, to: number): number {
  for (let i = Math.max(0, from - 3); i + 3 < to; i++) {
    if (buf[i] === 13 && buf[i + 1] === 10 && buf[i + 2] === 13 && buf[i + 3] === 10) return i;
  }
  return -1;
}

/**
 * Reads one request head (request line and header fields) of at most
 * `maxBytes`. Resolves with the head and the bytes read past it (a client
 * may send its first frames without waiting for the 101), or with the
 * status to refuse it with (null: the stream ended or failed first).
 *
 * @example
 * ```ts
 * import { readRequestHead } from "./ws_http.ts";
 * import assert from "node:assert/strict";
 * const bytes = new TextEncoder().encode("GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n\r\nXY");
 * let done = false;
 * const r = await readRequestHead({
 *   read: (p) => {
 *     if (done) return Promise.resolve(null);
 *     done = true;
 *     p.set(bytes);
 *     return Promise.resolve(bytes.byteLength);
 *   },
 * }, 1024);
 * assert.ok(r.ok);
 * assert.equal(r.head.method, "GET");
 * assert.equal(r.head.headers.get("upgrade"), "websocket");
 * assert.equal(new TextDecoder().decode(r.rest), "XY");
 * ```
 */
export async function readRequestHead(source: ByteSource, maxBytes: number): Promise<HeadResult> {
  const buf = new Uint8Array(maxBytes + 4);
  let end = 0;
  let at = -1;
  while (at < 0) {
    if (end >= buf.byteLength) {
      return { ok: false, status: 431, reason: `request head over ${maxBytes} bytes` };
    }
    let n: number | null;
    try {
      n = await source.read(buf.subarray(end));
    } catch (err) {
      return { ok: false, status: null, reason: `read failed: ${(err as Error)?.message ?? err}` };
    }
    if (n === null) {
      return { ok: false, status: null, reason: end === 0 ? "closed" : "closed mid-request" };
    }
    const from = end;
    end += n;
    at = endOfHead(buf, from, end);
    if (at > maxBytes) {
      return { ok: false, status: 431, reason: `request head over ${maxBytes} bytes` };
    }
  }
  const lines = latin1.decode(buf.subarray(0, at)).split("\r\n");
  const m = REQUEST_LINE.exec(lines[0]!);
  if (!m) return { ok: false, status: 400, reason: "malformed request line" };
  const [, method, target, major, minor] = m;
  if (major !== "1") {
    return { ok: false, status: 505, reason: `HTTP/${major}.${minor} is not supported` };
  }
  if (!target!.startsWith("/")) {
    return { ok: false, status: 400, reason: "request target must be a path" };
  }
  const headers = new Headers();
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(":");
    const name = colon > 0 ? line.slice(0, colon) : "";
    if (!TOKEN.test(name)) return { ok: false, status: 400, reason: "malformed header field" };
    try {
      headers.append(name, line.slice(colon + 1).trim());
    } catch {
      return { ok: false, status: 400, reason: "malformed header value" };
    }
  }
  const host = headers.get("host") ?? "localhost";
  let url: string;
  try {
    url = new URL(target!, `http://${/^[\w.:[\]-]+$/.test(host) ? host : "localhost"}`).href;
  } catch {
    return { ok: false, status: 400, reason: "malformed request target" };
  }
  return { ok: true, head: { method: method!, url, headers }, rest: buf.slice(at + 4, end) };
}

const REASONS: Record<number, string> = {
  101: "Switching Protocols",
  200: "OK",
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  408: "Request Timeout",
  426: "Upgrade Required",
  431: "Request Header Fields Too Large",
  500: "Internal Server Error",
  503: "Service Unavailable",
  505: "HTTP Version Not Supported",
};

/**
 * The bytes of `response` as an HTTP/1.1 message that ends the connection
 * (`connection: close`); without the body for a HEAD request.
 */
export async function serializeResponse(response: Response, head = false): Promise<Uint8Array> {
  const body = head ? new Uint8Array(0) : new Uint8Array(await response.arrayBuffer());
  let text = `HTTP/1.1 ${response.status} ${REASONS[response.status] ?? "Unknown"}\r\n`;
  for (const [name, value] of response.headers) {
    if (name !== "content-length" && name !== "connection") text += `${name}: ${value}\r\n`;
  }
  text += `content-length: ${head ? 0 : body.byteLength}\r\nconnection: close\r\n\r\n`;
  const start = encoder.encode(text);
  const out = new Uint8Array(start.byteLength + body.byteLength);
  out.set(start);
  out.set(body, start.byteLength);
  return out;
}

/** What {@linkcode checkHandshake} needs of a request. */
export type HandshakeRequest = Pick<RequestHead, "headers">;

/**
 * The `Sec-WebSocket-Key` of a valid WebSocket handshake request
 * (`Connection: upgrade`, version 13, a 16-byte base64 key), or null.
 */
export function handshakeKey(req: HandshakeRequest): string | null {
  const connection = (req.headers.get("connection") ?? "").toLowerCase().split(",").map((t) =>
    t.trim()
  );
  if (!connection.includes("upgrade")) return null;
  if (req.headers.get("sec-websocket-version")?.trim() !== "13") return null;
  const key = req.headers.get("sec-websocket-key")?.trim() ?? "";
  try {
    if (Uint8Array.fromBase64(key).byteLength !== 16) return null;
  } catch {
    return null;
  }
  return key;
}

const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/**
 * The `101 Switching Protocols` response for `key`, echoing `protocol` when
 * one was chosen.
 *
 * @example
 * ```ts
 * import { switchingProtocols } from "./ws_http.ts";
 * import assert from "node:assert/strict";
 * // The example of RFC 6455 section 1.3.
 * const text = new TextDecoder().decode(await switchingProtocols("dGhlIHNhbXBsZSBub25jZQ==", null));
 * assert.match(text, /^HTTP\/1\.1 101 Switching Protocols\r\n/);
 * assert.match(text, /\r\nsec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK\+xOo=\r\n/);
 * ```
 */
export async function switchingProtocols(
  key: string,
  protocol: string | null,
): Promise<Uint8Array> {
  const digest = await crypto.subtle.digest("SHA-1", encoder.encode(key + GUID));
  const accept = new Uint8Array(digest).toBase64();
  return encoder.encode(
    "HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\n" +
      `sec-websocket-accept: ${accept}\r\n` +
      (protocol ? `sec-websocket-protocol: ${protocol}\r\n` : "") + "\r\n",
  );
}
