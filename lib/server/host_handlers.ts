// Copyright 2026 the exec-server authors. MIT license.
/**
 * Binds the host methods to the host part: `environmentConfig/read`, and
 * `http/request` with its bounds
 * and its streamed bodies, which belong to the calling connection (they end
 * when it closes, as in codex) and pause while its peer is congested.
 *
 * Per connection: at most `maxHttpRequests` requests at once (buffered ones
 * in flight plus bodies still streaming), a streaming `requestId` reserved
 * until its last frame, whole bodies up to what one reply can carry, and at
 * most two of them past 1 MiB in memory at a time.
 *
 * @module
 */
import type { HttpExchange } from "../host/http.ts";
import { internalError, invalidParams, invalidRequest } from "../protocol/errors.ts";
import type { HttpBodyDelta, HttpRequestParams } from "../protocol/host.ts";
import type { Clock } from "../util/clock.ts";
import type { Logger } from "../util/logger.ts";
import { messageOf } from "../util/errors.ts";
import { Slots } from "../util/slots.ts";
import type { ConnectionScope, Handler } from "./process_handlers.ts";

/** Options of {@linkcode hostHandlers}. */
export interface HostHandlerOptions {
  /** The executor's environment (for `valueEnvVar`). */
  env: () => Record<string, string>;
  /** Timers for `timeoutMs`. */
  clock: Clock;
  /** Logger (never given header values or bodies). */
  log: Logger;
  /** Largest whole body a reply carries, in bytes. */
  maxBodyBytes: number;
  /** Requests one connection may have at once, streams included. @default {16} */
  maxHttpRequests?: number;
  /** Largest piece of a streamed body per notification, in bytes. @default {262144} */
  maxDeltaBytes?: number;
  /**
   * Whether this server may make network requests at all (false when the
   * operator's sandbox restricts network). @default {() => true}
   */
  networkAllowed?: () => boolean;
  /** Where codex's system config lives (`config.toml`, `requirements.toml`). @default {"/etc/codex"} */
  codexSystemDir?: string;
  /**
   * What `environmentConfig/read` may look at (see `mayRead` in
   * `lib/host/config.ts`): the fs roots and the operator's sandbox.
   * @default {everything}
   */
  configReadable?: (path: string, steered: boolean) => boolean;
}

type HttpModule = typeof import("../host/http.ts");
let http: HttpModule | null = null;

/**
 * The host part loads on the first call of one of its methods: it brings
 * node:http, node:https, node:zlib and the TOML parser, several MB that a
 * server which never serves them should not hold.
 */
async function loadHttp(): Promise<HttpModule> {
  return http ??= await import("../host/http.ts");
}

/** Whole bodies larger than this wait for one of two slots before they grow further. */
const BIG_BODY_BYTES = 1024 * 1024;
const BIG_BODY_SLOTS = 2;

/** What one connection has going. */
interface HttpState {
  active: number;
  readonly streams: Set<string>;
  readonly bigBodies: Slots;
}

const STATE = new WeakMap<ConnectionScope, HttpState>();

function stateOf(conn: ConnectionScope): HttpState {
  let state = STATE.get(conn);
  if (!state) {
    STATE.set(
      conn,
      state = { active: 0, streams: new Set(), bigBodies: new Slots(BIG_BODY_SLOTS) },
    );
  }
  return state;
}

/** Why a request may not touch the network, or null. */
function networkRefusal(params: HttpRequestParams, allowed: () => boolean): string | null {
  const permissions = params.sandbox?.permissions;
  if (permissions && permissions.type !== "disabled" && permissions.network === "restricted") {
    return "http/request refused: its sandbox profile restricts network access";
  }
  if (!allowed()) return "http/request refused: this server's sandbox restricts network access";
  return null;
}

/** Reads a whole body within `maxBytes`, taking a big-body slot past 1 MiB. */
async function readWhole(
  ex: HttpExchange,
  maxBytes: number,
  state: HttpState,
  conn: ConnectionScope,
): Promise<string> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  let release: (() => void) | null = null;
  try {
    for await (const chunk of ex.body()) {
      total += chunk.byteLength;
      if (total > maxBytes) {
        throw internalError(
          `http/request response body is larger than ${maxBytes} bytes, the most one reply ` +
            "carries: ask for streamResponse to receive it in pieces",
        );
      }
      if (total > BIG_BODY_BYTES && !release) {
        release = await state.bigBodies.acquire(conn.signal).catch(() => {
          throw new http!.BodyError("the connection closed");
        });
      }
      chunks.push(chunk);
    }
    // A big reply waits until the peer has taken what was already sent.
    if (release) await conn.congested();
    const body = new Uint8Array(total);
    let at = 0;
    for (const c of chunks.splice(0)) {
      body.set(c, at);
      at += c.byteLength;
    }
    return body.toBase64();
  } catch (err) {
    if (http && err instanceof http.BodyError) {
      throw internalError(`failed to read http/request response body: ${err.message}`);
    }
    throw err;
  } finally {
    release?.();
    ex.close();
  }
}

/** Sends a streamed body as `http/request/bodyDelta`s, pausing while the peer is congested. */
async function pump(
  ex: HttpExchange,
  requestId: string,
  conn: ConnectionScope,
  maxDelta: number,
  log: Logger,
): Promise<void> {
  let seq = 1;
  const send = (delta: Omit<HttpBodyDelta, "requestId" | "seq">) => {
    const params: HttpBodyDelta = { requestId, seq: seq++, ...delta };
    conn.notify("http/request/bodyDelta", params);
  };
  try {
    for await (const chunk of ex.body()) {
      for (let at = 0; at < chunk.byteLength; at += maxDelta) {
        if (conn.signal.aborted) return;
        const piece = chunk.subarray(at, at + maxDelta);
        send({ deltaBase64: piece.toBase64(), done: false, error: null });
        const congested = conn.congested();
        if (congested) await congested;
      }
    }
    if (!conn.signal.aborted) send({ deltaBase64: "", done: true, error: null });
  } catch (err) {
    if (conn.signal.aborted) return;
    log.debug(`http/request ${JSON.stringify(requestId)}: body failed: ${messageOf(err)}`);
    // codex's text, which clients may match on.
    send({ deltaBase64: "", done: true, error: "error decoding response body" });
  } finally {
    ex.close();
  }
}

/** Handlers for the host methods. */
export function hostHandlers(options: HostHandlerOptions): {
  "http/request": Handler<"http/request">;
  "environmentConfig/read": Handler<"environmentConfig/read">;
} {
  const maxRequests = options.maxHttpRequests ?? 16;
  const maxDelta = options.maxDeltaBytes ?? 256 * 1024;
  const networkAllowed = options.networkAllowed ?? (() => true);
  return {
    async "http/request"(params, ctx) {
      const refusal = networkRefusal(params, networkAllowed);
      if (refusal) throw invalidRequest(refusal);
      const conn = ctx.connection;
      const state = stateOf(conn);
      const stream = params.streamResponse === true;
      const id = params.requestId;
      if (stream && state.streams.has(id)) {
        throw invalidParams(`http/request streamResponse requestId \`${id}\` is already active`);
      }
      if (state.active >= maxRequests) {
        throw invalidRequest(
          `too many http requests on this connection: the limit is ${maxRequests} ` +
            "(requests in flight and bodies still streaming)",
        );
      }
      state.active++;
      if (stream) state.streams.add(id);
      const done = () => {
        state.active--;
        if (stream) state.streams.delete(id);
      };
      let handedOff = false;
      try {
        const { openExchange } = await loadHttp();
        const ex = await openExchange(params, {
          env: options.env,
          clock: options.clock,
          signal: conn.signal,
        });
        if (!stream) {
          const bodyBase64 = await readWhole(ex, options.maxBodyBytes, state, conn);
          return { status: ex.status, headers: ex.headers, bodyBase64 };
        }
        handedOff = true;
        ctx.afterResponse(() => void pump(ex, id, conn, maxDelta, options.log).finally(done));
        return { status: ex.status, headers: ex.headers, bodyBase64: "" };
      } finally {
        if (!handedOff) done();
      }
    },
    "environmentConfig/read": async (params) => {
      const { readEnvironmentConfig } = await import("../host/config.ts");
      return readEnvironmentConfig(params, {
        env: options.env(),
        ...(options.codexSystemDir ? { systemDir: options.codexSystemDir } : {}),
        ...(options.configReadable ? { mayRead: options.configReadable } : {}),
      });
    },
  };
}
