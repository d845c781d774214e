// Copyright 2026 the exec-server authors. MIT license.
/**
 * A {@linkcode CuttableProxy} that also logs the WebSocket frames it relays,
 * both ways, so a test driving a client it does not control (the codex agent)
 * can see what it sent and wait for it. Bytes pass through unchanged; a
 * {@linkcode FrameDecoder} per direction and connection only observes them.
 *
 * @module
 */
import { CuttableProxy, type Message, type RelayDirection, waitUntil } from "./_harness.ts";
import { FrameDecoder, OPCODE } from "./_ws_frames.ts";

/** One logged WebSocket message or control frame. */
export interface RelayFrame {
  /** Relay connection number, from 1. */
  connId: number;
  /** Which way it went. */
  direction: RelayDirection;
  /** The WebSocket opcode. */
  opcode: number;
  /** The payload as text (data frames only). */
  text?: string;
  /** The payload parsed as JSON, when it is an object. */
  json?: Message;
  /** Milliseconds since the relay started. */
  atMs: number;
}

/** The logging relay; `await using` it. */
export class WsRelay extends CuttableProxy {
  /** Every frame seen, in order. */
  readonly frames: RelayFrame[] = [];
  readonly #decoders = new Map<string, FrameDecoder>();
  readonly #startedAt = Date.now();

  protected override onData(link: number, direction: RelayDirection, bytes: Uint8Array): void {
    const key = `${link}:${direction}`;
    let decoder = this.#decoders.get(key);
    if (!decoder) this.#decoders.set(key, decoder = new FrameDecoder());
    for (const { opcode, payload } of decoder.push(bytes)) {
      const frame: RelayFrame = {
        connId: link,
        direction,
        opcode,
        atMs: Date.now() - this.#startedAt,
      };
      if (opcode === OPCODE.text || opcode === OPCODE.binary) {
        frame.text = new TextDecoder().decode(payload);
        try {
          const parsed = JSON.parse(frame.text);
          if (parsed && typeof parsed === "object") frame.json = parsed;
        } catch {
          // not JSON; keep the text
        }
      }
      this.frames.push(frame);
    }
  }

  /** JSON frames the client sent with this JSON-RPC method. */
  requests(method: string): RelayFrame[] {
    return this.frames.filter((f) => f.direction === "toServer" && f.json?.method === method);
  }

  /** Every method the client called, once each, in order of first use. */
  methodsCalled(): string[] {
    const seen = new Set<string>();
    for (const f of this.frames) {
      if (f.direction === "toServer" && typeof f.json?.method === "string") seen.add(f.json.method);
    }
    return [...seen];
  }

  /** Waits for a logged frame matching `predicate` and returns it. */
  waitForFrame(
    predicate: (frame: RelayFrame) => boolean,
    { timeoutMs = 10_000, message = "a relay frame" } = {},
  ): Promise<RelayFrame> {
    return waitUntil(() => this.frames.find(predicate), { timeoutMs, message });
  }
}
