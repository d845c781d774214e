// Copyright 2026 the exec-server authors. MIT license.
/**
 * Routing of what the server sends the client: responses to the pending
 * calls, process notifications (JSON or binary output frames) to process
 * handles, `fs/changed` to watchers. Everything is validated with the shared
 * notification schemas; anything unknown or malformed is ignored, as codex's
 * client does.
 *
 * @module
 */
import { decodeOutputFrame } from "../protocol/binary_frame.ts";
import type { ExitedEvent } from "./events.ts";
import type { ProcessControl } from "./process.ts";
import { decodeBase64 } from "../util/mod.ts";
import { FS_NOTIFICATIONS, type FsChangedNotification } from "../protocol/fs.ts";
import { NOTIFICATIONS } from "../protocol/process.ts";

/** Where inbound messages go. */
export interface InboundTargets {
  /** The live handle of a process, if any. */
  process(processId: string): ProcessControl | undefined;
  /** The listener of a watch, if any. */
  watcher(watchId: string): ((change: FsChangedNotification) => void) | undefined;
  /** A response (an object with an `id`). */
  response(message: { id?: unknown; result?: unknown; error?: unknown }): void;
}

/**
 * Makes the function that routes one inbound message.
 *
 * @example
 * ```ts
 * import { inboundRouter } from "./inbound.ts";
 * import assert from "node:assert/strict";
 * const responses: unknown[] = [];
 * const route = inboundRouter({
 *   process: () => undefined,
 *   watcher: () => undefined,
 *   response: (m) => void responses.push(m),
 * });
 * route('{"id":1,"result":{}}');
 * assert.equal(responses.length, 1);
 * ```
 */
export function inboundRouter(targets: InboundTargets): (data: string | Uint8Array) => void {
  const notification = (method: string, params: unknown): void => {
    switch (method) {
      case "process/output": {
        const p = NOTIFICATIONS["process/output"].safeParse(params);
        if (!p.success) return;
        targets.process(p.data.processId)?.push({
          type: "output",
          seq: p.data.seq,
          stream: p.data.stream,
          data: decodeBase64(p.data.chunk),
        });
        return;
      }
      case "process/exited": {
        const p = NOTIFICATIONS["process/exited"].safeParse(params);
        if (!p.success) return;
        const event: ExitedEvent = { type: "exited", seq: p.data.seq, exitCode: p.data.exitCode };
        if (p.data.signal !== undefined) event.signal = p.data.signal;
        if (p.data.timedOut !== undefined) event.timedOut = p.data.timedOut;
        if (p.data.sandboxDenied === true) event.sandboxDenied = true;
        targets.process(p.data.processId)?.push(event);
        return;
      }
      case "process/closed": {
        const p = NOTIFICATIONS["process/closed"].safeParse(params);
        if (!p.success) return;
        targets.process(p.data.processId)?.push({ type: "closed", seq: p.data.seq });
        return;
      }
      case "fs/changed": {
        const p = FS_NOTIFICATIONS["fs/changed"].params.safeParse(params);
        if (p.success) targets.watcher(p.data.watchId)?.(p.data);
        return;
      }
    }
  };

  return (data) => {
    if (typeof data !== "string") {
      let frame;
      try {
        frame = decodeOutputFrame(data);
      } catch {
        return; // not an output frame: nothing we understand
      }
      targets.process(frame.processId)?.push({
        type: "output",
        seq: frame.seq,
        stream: frame.stream,
        data: frame.data,
      });
      return;
    }
    let msg: unknown;
    try {
      msg = JSON.parse(data);
    } catch {
      return;
    }
    if (typeof msg !== "object" || msg === null || Array.isArray(msg)) return;
    const m = msg as { id?: unknown; method?: unknown; params?: unknown };
    if (typeof m.method === "string") {
      // Server-to-client requests do not exist in this protocol.
      if (m.id === undefined) notification(m.method, m.params);
      return;
    }
    if (m.id !== undefined) targets.response(m);
  };
}
