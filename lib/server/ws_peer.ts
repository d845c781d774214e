// Copyright 2026 the exec-server authors. MIT license.
/**
 * The WebSocket edge of the server: token checks, the socket as a
 * {@linkcode Peer} with a cap on what a non-reading peer can queue, and a
 * watchdog for peers that stopped reading.
 *
 * @module
 */
import type { Peer } from "./connection.ts";
import type { Clock } from "../util/clock.ts";

/**
 * A WebSocket close reason cut to the protocol's 123 UTF-8 bytes (longer
 * ones make `WebSocket.close` throw), without splitting a character.
 *
 * @example
 * ```ts
 * import { closeReason } from "./ws_peer.ts";
 * import assert from "node:assert/strict";
 * assert.ok(new TextEncoder().encode(closeReason("é".repeat(100))).length <= 123);
 * ```
 */
export function closeReason(reason: string): string {
  const bytes = new TextEncoder().encode(reason);
  if (bytes.length <= 123) return reason;
  let end = 120; // room for "…" (3 bytes)
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--;
  return new TextDecoder().decode(bytes.subarray(0, end)) + "…";
}

/** What the send-queue guard needs to know about a socket. */
export interface SendGuard {
  /** Queued bytes above which the peer is dropped. */
  maxQueuedBytes: number;
  /** Called once when the queue overflows; the frame is not sent. */
  overflow(queued: number): void;
}

/** The socket a {@linkcode socketPeer} sends through (a `ServerSocket`). */
export interface MessageSocket {
  /** True until either side began closing. */
  readonly open: boolean;
  /** Bytes queued and not yet handed to the OS. */
  readonly bufferedAmount: number;
  /** Sends a text message given as its UTF-8 bytes. */
  sendUtf8(payload: Uint8Array): void;
  /** Sends a binary message. */
  sendBinary(data: Uint8Array): void;
  /** Starts the close handshake. */
  close(code: number, reason: string): void;
}

const encoder = new TextEncoder();

/**
 * Wraps a server socket as a {@linkcode Peer}. Output is paused by the
 * connection at its high-water mark, but responses are not, so a peer that
 * sends requests and never reads could queue replies without bound: past
 * `guard.maxQueuedBytes` it is dropped instead. Everything is counted in
 * bytes on the wire, as `bufferedAmount` is (`counter.sent` too, which the
 * stall watchdog compares with it): a text is encoded here, once.
 */
export function socketPeer(
  socket: MessageSocket,
  guard: SendGuard,
  counter: { sent: number },
): Peer {
  const admit = (size: number): boolean => {
    if (!socket.open) return false;
    const queued = socket.bufferedAmount;
    if (queued > 0 && queued + size > guard.maxQueuedBytes) {
      guard.overflow(queued);
      return false;
    }
    counter.sent += size;
    return true;
  };
  return {
    sendText(text) {
      const payload = encoder.encode(text);
      if (admit(payload.byteLength)) socket.sendUtf8(payload);
    },
    sendBinary(data) {
      if (admit(data.byteLength)) socket.sendBinary(data);
    },
    close(code, reason) {
      socket.close(code, closeReason(reason));
    },
    bufferedAmount: () => socket.bufferedAmount,
  };
}

/**
 * A keepalive ping cannot reach a peer that stopped reading while output
 * was flowing (it waits behind the unsent frames), and that peer would
 * hold its connection (and its session, which could not be resumed) until
 * TCP gave up, which can take many minutes. This watchdog calls `onStall`
 * when bytes have been queued without any of them being written for
 * `stallMs`, checking on `clock` every eighth of that (50 ms to 1 s).
 * Returns a function that stops it.
 */
export function watchSendProgress(
  socket: { readonly bufferedAmount: number },
  counter: { readonly sent: number },
  stallMs: number,
  onStall: () => void,
  clock: Clock,
): () => void {
  const everyMs = Math.max(50, Math.min(1000, stallMs / 8));
  let best = 0;
  let lastProgress = clock.now();
  let cancel = () => {};
  const check = () => {
    const queued = socket.bufferedAmount;
    const written = counter.sent - queued;
    const now = clock.now();
    if (queued === 0 || written > best) lastProgress = now;
    best = Math.max(best, written);
    if (now - lastProgress >= stallMs) onStall();
    else cancel = clock.setTimer(check, everyMs);
  };
  cancel = clock.setTimer(check, everyMs);
  return () => cancel();
}
