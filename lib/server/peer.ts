// Copyright 2026 the exec-server authors. MIT license.
/**
 * The transport under a connection, as the core sees it ({@linkcode Peer}):
 * a WebSocket or stdio lines. Also what the connection sends through it
 * that is more than a JSON message: process output in either form, and
 * the wait for a congested peer to drain. Runtime-neutral.
 *
 * @module
 */
import { encodeOutputFrame } from "../protocol/binary_frame.ts";
import type { StreamName } from "../process/child.ts";
import type { Clock } from "../util/clock.ts";

/** The transport under a connection (a WebSocket, or stdio lines). */
export interface Peer {
  /** Sends one text message. */
  sendText(text: string): void;
  /** Sends one binary message; absent on transports without binary frames. */
  sendBinary?: (data: Uint8Array) => void;
  /** Closes the transport with a WebSocket-style code and reason. */
  close(code: number, reason: string): void;
  /** Bytes queued but not yet sent. */
  bufferedAmount(): number;
}

/** The peer of a connection whose transport is gone: sends nothing, holds nothing. */
export const CLOSED_PEER: Peer = {
  sendText() {},
  close() {},
  bufferedAmount: () => 0,
};

/**
 * Sends a `process/output` notification: a binary frame when `binary`
 * (the peer must have `sendBinary`), else the JSON text with the chunk in
 * base64.
 *
 * @example
 * ```ts
 * import { sendOutput } from "./peer.ts";
 * import assert from "node:assert/strict";
 * const sent: string[] = [];
 * const peer = { sendText: (t: string) => void sent.push(t), close() {}, bufferedAmount: () => 0 };
 * sendOutput(peer, false, "p", 3, "stdout", new TextEncoder().encode("hi"));
 * assert.deepEqual(JSON.parse(sent[0]!), {
 *   method: "process/output",
 *   params: { processId: "p", seq: 3, stream: "stdout", chunk: "aGk=" },
 * });
 * ```
 */
export function sendOutput(
  peer: Peer,
  binary: boolean,
  processId: string,
  seq: number,
  stream: StreamName,
  data: Uint8Array,
): void {
  if (binary) {
    peer.sendBinary!(encodeOutputFrame(processId, seq, stream, data));
    return;
  }
  // The same text as JSON.stringify of the notification object, built
  // without scanning the base64 (which never needs escaping) again.
  peer.sendText(
    '{"method":"process/output","params":{"processId":' +
      JSON.stringify(processId) + ',"seq":' + seq + ',"stream":"' + stream +
      '","chunk":"' + data.toBase64() + '"}}',
  );
}

/** How often a congested peer's queue is checked, in ms. */
const DRAIN_POLL_MS = 2;

/**
 * The wait producers share while a peer is congested: past the high-water
 * mark, one promise that resolves once the queue is down to half of it.
 * A poll on the clock rather than an event (Deno's WebSocket reports only
 * `bufferedAmount`, no drain); it runs only while the peer is congested.
 */
export class DrainWait {
  readonly #queued: () => number;
  readonly #highWater: number;
  readonly #clock: Clock;
  #drain: Promise<void> | null = null;

  /** `queued` reports the peer's queued bytes (0 once it is gone, which ends a wait). */
  constructor(queued: () => number, highWater: number, clock: Clock) {
    this.#queued = queued;
    this.#highWater = highWater;
    this.#clock = clock;
  }

  /** Undefined while the queue is at most the high-water mark, else the wait. */
  wait(): Promise<void> | undefined {
    if (this.#queued() <= this.#highWater) return undefined;
    this.#drain ??= new Promise<void>((resolve) => {
      const poll = () => {
        if (this.#queued() <= this.#highWater / 2) {
          this.#drain = null;
          resolve();
        } else this.#clock.setTimer(poll, DRAIN_POLL_MS);
      };
      this.#clock.setTimer(poll, DRAIN_POLL_MS);
    });
    return this.#drain;
  }
}
