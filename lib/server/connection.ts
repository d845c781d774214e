// Copyright 2026 the exec-server authors. MIT license.
/**
 * The RPC core of one connection: frame parsing, the initialize/initialized
 * lifecycle, dispatch through the method table, concurrent request handling,
 * and the attachment a session pushes notifications through. Runtime-neutral:
 * the transport is a {@linkcode Peer}.
 *
 * @module
 */
import type { z } from "npm:zod@^4.1.0";
import { encodeOutputFrame } from "../protocol/binary_frame.ts";
import type { StreamName } from "../process/child.ts";
import { ErrorCode, invalidParams, invalidRequest, RpcError } from "../protocol/errors.ts";
import type {
  CallContext,
  ConnectionScope,
  HandlerTable,
  ServerContext,
} from "./process_handlers.ts";
import { messageOf } from "../util/errors.ts";
import { CloseCode } from "./close_code.ts";
import { decodeUtf8 } from "../util/bytes.ts";
import { isMethodName, type MethodName, METHODS } from "../protocol/methods.ts";
import { methodGroup } from "../protocol/environment.ts";
import type { InitializeParams, InitializeResult, RequestId } from "../protocol/process.ts";
import type { Attachment, Session } from "./session.ts";

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

/** Options for {@linkcode Connection}. */
export interface ConnectionOptions {
  /** Pause producers while more than this many bytes are queued. @default {8388608} */
  highWaterBytes?: number;
  /** Label for logs, such as the peer address. */
  label?: string;
  /**
   * Requests handled at once (codex's `--concurrent-requests`); later ones
   * wait their turn in arrival order. The calls that never wait for
   * anything ({@linkcode IMMEDIATE_METHODS}) are answered at once.
   * @default {64}
   */
  maxInFlight?: number;
  /**
   * Closes the connection (1008) when no `initialize` has succeeded this
   * long after it opened, so connections that never start cannot hold the
   * server's slots; 0 for no deadline. @default {0}
   */
  initializeTimeoutMs?: number;
}

/**
 * Methods answered at once whatever the in-flight limit: they never wait,
 * and a client must be able to stop a process (or check the link) while its
 * other requests wait.
 */
export const IMMEDIATE_METHODS: ReadonlySet<string> = new Set([
  "ping",
  "process/terminate",
  "process/signal",
  "process/list",
  "process/resize",
]);

export { CloseCode } from "./close_code.ts";

/** The peer of a connection whose transport is gone. */
const CLOSED_PEER: Peer = {
  sendText() {},
  close() {},
  bufferedAmount: () => 0,
};

/** How often a congested peer's queue is checked, in ms. */
const DRAIN_POLL_MS = 2;

/** How long one connection's requests may run back to back before yielding to the event loop, in ms. */
const SLICE_MS = 4;

/** A response the connection produced. */
export type Response =
  | { id: RequestId; result: unknown }
  | { id: RequestId; error: ReturnType<RpcError["toJson"]> };

type Outcome = { id: RequestId; result: unknown } | {
  id: RequestId;
  error: RpcError;
};

/** A request waiting for a slot. */
interface Waiting {
  id: RequestId;
  method: string;
  params: unknown;
  size: number;
  done: (response: Response | null) => void;
}

/**
 * One client connection.
 *
 * @example Feeding it frames in a unit test
 * ```ts ignore
 * const conn = new Connection(peer, context, handlers);
 * await conn.receive('{"id":1,"method":"initialize","params":{"clientName":"t"}}');
 * ```
 */
export class Connection implements Attachment {
  /** Connection id (UUIDv4). */
  readonly id: string = crypto.randomUUID();
  #peer: Peer; // CLOSED_PEER once the transport is gone
  readonly #server: ServerContext;
  readonly #handlers: HandlerTable;
  readonly #highWater: number;
  readonly #label: string;
  readonly #evicted = new AbortController();
  /** Aborts when the transport closes or the session is resumed elsewhere. */
  readonly #gone = new AbortController();
  readonly #scope: ConnectionScope = {
    signal: this.#gone.signal,
    notify: (method, params) => this.#send({ method, params }),
    congested: () => this.congested(),
  };
  #initializeRequested = false;
  #initialized = false;
  #session: Session | null = null;
  #binaryOutput = false;
  #open = true;
  #drain: Promise<void> | null = null;
  readonly #maxInFlight: number;
  #running = 0;
  #waiting: Waiting[] = [];
  #waitingBytes = 0;
  #ready: { promise: Promise<void>; resolve: () => void } | null = null;
  #cancelInitDeadline: () => void = () => {};
  #sliceStart = 0;
  #nextScheduled = false;

  /** Creates a connection over `peer`. */
  constructor(
    peer: Peer,
    server: ServerContext,
    handlers: HandlerTable,
    options: ConnectionOptions = {},
  ) {
    this.#peer = peer;
    this.#server = server;
    this.#handlers = handlers;
    this.#highWater = options.highWaterBytes ?? 8 * 1024 * 1024;
    this.#label = options.label ?? "peer";
    this.#maxInFlight = Math.max(1, options.maxInFlight ?? 64);
    const initMs = options.initializeTimeoutMs ?? 0;
    if (initMs > 0) {
      this.#cancelInitDeadline = server.registry.clock.setTimer(() => {
        if (this.#session) return;
        const seconds = initMs / 1000;
        this.#server.log.warn(`${this.#label}: closing: no initialize within ${seconds} s`);
        this.close(CloseCode.PolicyViolation, `no initialize within ${seconds} s`);
      }, initMs);
    }
  }

  /** The attached session, once initialized. */
  get session(): Session | null {
    return this.#session;
  }

  /** Whether the transport is still open. */
  get open(): boolean {
    return this.#open;
  }

  /**
   * Handles one inbound message. Resolves when it has been fully handled
   * (the server does not wait: requests run concurrently) with the response
   * it produced, or null; a response is dropped if the transport closed.
   * `bytes` is the message's size in UTF-8 bytes when the edge knows it
   * (else a string is measured: the limits count bytes, not UTF-16 units).
   */
  receive(frame: string | Uint8Array, bytes?: number): Promise<Response | null> {
    try {
      return this.#receive(frame, bytes).catch((err) => this.#fault(err));
    } catch (err) {
      return Promise.resolve(this.#fault(err));
    }
  }

  /**
   * A fault while handling a message (a bug, or a transport that threw)
   * closes this connection with a logged reason; the server carries on.
   */
  #fault(err: unknown): null {
    this.#server.log.error(`${this.#label}: closing after an internal error: ${messageOf(err)}`);
    try {
      this.close(CloseCode.InternalError, `internal error: ${clip(messageOf(err))}`);
    } catch {
      this.transportClosed();
    }
    return null;
  }

  /**
   * Resolves once the edge may read the next message: while this many
   * requests wait for a slot ({@linkcode ConnectionOptions.maxInFlight}) or
   * they hold a message's worth of bytes, the edge should stop reading, so
   * that a client's burst waits in its own socket rather than in the
   * server's memory. Undefined when there is room.
   */
  ready(): Promise<void> | undefined {
    if (!this.#open || !this.#full()) return undefined;
    this.#ready ??= Promise.withResolvers<void>();
    return this.#ready.promise;
  }

  #full(): boolean {
    return this.#waiting.length >= this.#maxInFlight ||
      (this.#waiting.length > 0 && this.#waitingBytes >= this.#server.maxMessageBytes);
  }

  #releaseReady(): void {
    if (this.#ready && (!this.#open || !this.#full())) {
      this.#ready.resolve();
      this.#ready = null;
    }
  }

  #receive(frame: string | Uint8Array, bytes?: number): Promise<Response | null> {
    if (!this.#open) return Promise.resolve(null);
    const size = bytes ?? (typeof frame === "string" ? utf8Length(frame) : frame.byteLength);
    if (size > this.#server.maxMessageBytes) {
      this.#server.log.warn(
        `${this.#label}: closing: message of ${size} bytes is too big`,
      );
      this.close(
        CloseCode.TooBig,
        `message too big: ${size} bytes exceeds the limit of ${this.#server.maxMessageBytes}`,
      );
      return Promise.resolve(null);
    }
    let message: unknown;
    try {
      const text = typeof frame === "string" ? frame : decodeUtf8(frame);
      message = JSON.parse(text);
    } catch (err) {
      this.#sendError(
        -1,
        invalidRequest(
          `failed to parse JSON-RPC message from ${this.#label}: ${messageOf(err)}`,
        ),
      );
      return Promise.resolve(null);
    }
    return this.#route(message, size);
  }

  #route(message: unknown, size: number): Promise<Response | null> {
    if (
      typeof message !== "object" || message === null || Array.isArray(message)
    ) {
      const what = Array.isArray(message)
        ? "a batch (array); batches are not supported"
        : typeof message;
      this.#sendError(
        -1,
        invalidRequest(
          `invalid JSON-RPC message: expected an object, got ${what}`,
        ),
      );
      return Promise.resolve(null);
    }
    const msg = message as Record<string, unknown>;
    const hasId = Object.hasOwn(msg, "id");
    if (Object.hasOwn(msg, "method")) {
      if (typeof msg.method !== "string") {
        this.#sendError(
          validId(msg.id) ? msg.id : -1,
          invalidRequest("invalid JSON-RPC message: method must be a string"),
        );
        return Promise.resolve(null);
      }
      if (!hasId) {
        this.#notification(msg.method);
        return Promise.resolve(null);
      }
      if (!validId(msg.id)) {
        this.#sendError(
          -1,
          invalidRequest(
            "invalid JSON-RPC request: id must be an integer or a string",
          ),
        );
        return Promise.resolve(null);
      }
      return this.#admit(msg.id, msg.method, msg.params, size);
    }
    if (
      hasId && (Object.hasOwn(msg, "result") || Object.hasOwn(msg, "error"))
    ) {
      this.#server.log.warn(
        `${this.#label}: closing: client sent a JSON-RPC response`,
      );
      this.close(
        CloseCode.PolicyViolation,
        "unexpected JSON-RPC response from client",
      );
      return Promise.resolve(null);
    }
    this.#sendError(
      validId(msg.id) ? msg.id : -1,
      invalidRequest(
        "invalid JSON-RPC message: expected a request or a notification",
      ),
    );
    return Promise.resolve(null);
  }

  #notification(method: string): void {
    if (method === "initialized") {
      if (this.#initializeRequested && this.#session) {
        this.#initialized = true;
        return;
      }
      this.#server.log.warn(
        `${this.#label}: closing: initialized sent before initialize`,
      );
      this.close(
        CloseCode.PolicyViolation,
        "initialized notification sent before initialize",
      );
      return;
    }
    this.#server.log.warn(
      `${this.#label}: closing: unexpected notification ${JSON.stringify(clip(method))}`,
    );
    this.close(
      CloseCode.PolicyViolation,
      `unexpected notification ${clip(method)}`,
    );
  }

  /** Runs a request now if a slot is free (or it never waits), else queues it. */
  #admit(id: RequestId, method: string, params: unknown, size: number): Promise<Response | null> {
    if (IMMEDIATE_METHODS.has(method)) return this.#request(id, method, params);
    if (this.#running < this.#maxInFlight) return this.#run(id, method, params);
    return new Promise((done) => {
      this.#waiting.push({ id, method, params, size, done });
      this.#waitingBytes += size;
    });
  }

  async #run(id: RequestId, method: string, params: unknown): Promise<Response | null> {
    this.#running++;
    try {
      return await this.#request(id, method, params);
    } finally {
      this.#running--;
      this.#next();
    }
  }

  /**
   * Starts waiting requests while slots are free. A request that finishes
   * at once (a spawn is synchronous) starts the next in the same microtask
   * chain, which would keep every other connection's I/O waiting; so after
   * {@linkcode SLICE_MS} of such a chain the rest starts from a timer,
   * letting the event loop run in between.
   */
  #next(): void {
    const clock = this.#server.registry.clock;
    const now = clock.now();
    if (now - this.#sliceStart >= SLICE_MS) {
      this.#sliceStart = now;
      if (this.#waiting.length > 0 && !this.#nextScheduled) {
        this.#nextScheduled = true;
        clock.setTimer(() => {
          this.#nextScheduled = false;
          this.#sliceStart = clock.now();
          this.#next();
        }, 0);
        return;
      }
    }
    if (this.#nextScheduled) return;
    while (this.#open && this.#running < this.#maxInFlight && this.#waiting.length > 0) {
      const w = this.#waiting.shift()!;
      this.#waitingBytes -= w.size;
      this.#run(w.id, w.method, w.params).then(w.done, (err) => w.done(this.#fault(err)));
    }
    this.#releaseReady();
  }

  async #request(
    id: RequestId,
    method: string,
    rawParams: unknown,
  ): Promise<Response> {
    let outcome: Outcome;
    const after: (() => void)[] = [];
    try {
      outcome = { id, result: await this.#dispatch(method, rawParams, after) };
    } catch (err) {
      outcome = { id, error: toRpcError(err, method, this.#server) };
    }
    const response: Response = "error" in outcome
      ? { id, error: outcome.error.toJson() }
      : { id, result: outcome.result };
    try {
      this.#send(response);
    } finally {
      for (const fn of after) fn();
    }
    return response;
  }

  async #dispatch(method: string, rawParams: unknown, after: (() => void)[]): Promise<unknown> {
    if (!isMethodName(method)) {
      throw new RpcError(
        ErrorCode.MethodNotFound,
        `exec-server does not implement \`${clip(method)}\``,
      );
    }
    if (method === "initialize") {
      return this.#initialize(
        parseParams(method, rawParams) as InitializeParams,
      );
    }
    const session = this.#requireReady(method);
    const params = parseParams(method, rawParams);
    const ctx: CallContext = {
      session,
      signal: this.#evicted.signal,
      server: this.#server,
      connection: this.#scope,
      afterResponse: (fn) => void after.push(fn),
    };
    const handler = this.#handlers[method] as (
      p: unknown,
      c: CallContext,
    ) => Promise<unknown>;
    const result = await handler(params, ctx);
    if (!session.isAttached(this) && this.#evicted.signal.aborted) {
      throw invalidRequest(this.#evictedReason());
    }
    return result;
  }

  #requireReady(method: MethodName): Session {
    const kind = methodGroup(method);
    if (!this.#initializeRequested || !this.#session) {
      throw invalidRequest(
        `client must call initialize before using ${kind} methods`,
      );
    }
    if (!this.#initialized) {
      throw invalidRequest(
        `client must send initialized before using ${kind} methods`,
      );
    }
    if (this.#evicted.signal.aborted || !this.#session.isAttached(this)) {
      throw invalidRequest(this.#evictedReason());
    }
    return this.#session;
  }

  #evictedReason(): string {
    const reason = this.#evicted.signal.reason;
    return typeof reason === "string" ? reason : "session has been resumed by another connection";
  }

  #initialize(params: InitializeParams): InitializeResult {
    if (this.#initializeRequested) {
      throw invalidRequest("initialize may only be sent once per connection");
    }
    this.#initializeRequested = true;
    try {
      const registry = this.#server.registry;
      this.#session = params.resumeSessionId
        ? registry.resume(params.resumeSessionId, this)
        : registry.create(this);
    } catch (err) {
      // Let the client retry initialize on this connection.
      this.#initializeRequested = false;
      throw err;
    }
    this.#cancelInitDeadline();
    const result: InitializeResult = {
      sessionId: this.#session.id,
      environmentInfo: this.#server.environmentInfo(),
    };
    if (params.capabilities) {
      this.#binaryOutput = Boolean(
        params.capabilities.binaryOutput && this.#peer.sendBinary,
      );
      result.capabilities = { binaryOutput: this.#binaryOutput };
    }
    this.#server.log.info(
      `${this.#label}: ${
        params.resumeSessionId ? "resumed" : "created"
      } session ${this.#session.id}`,
    );
    return result;
  }

  // -- Attachment --

  /** @internal Attachment */
  notify(method: string, params: unknown): void {
    this.#send({ method, params });
  }

  /** @internal Attachment */
  output(
    processId: string,
    seq: number,
    stream: StreamName,
    data: Uint8Array,
  ): void {
    if (!this.#open) return;
    if (this.#binaryOutput) {
      this.#peer.sendBinary!(encodeOutputFrame(processId, seq, stream, data));
    } else {
      // The same text as JSON.stringify of the notification object, built
      // without scanning the base64 (which never needs escaping) again.
      this.#peer.sendText(
        '{"method":"process/output","params":{"processId":' +
          JSON.stringify(processId) + ',"seq":' + seq + ',"stream":"' + stream +
          '","chunk":"' + data.toBase64() + '"}}',
      );
    }
  }

  /**
   * @internal Attachment
   *
   * Polls the queue on the server's clock until it is down to half the
   * high-water mark (or the transport closed). A poll rather than an event:
   * Deno's WebSocket reports only `bufferedAmount`, no drain; the poll runs
   * only while the peer is congested.
   */
  congested(): Promise<void> | undefined {
    if (!this.#open || this.#peer.bufferedAmount() <= this.#highWater) {
      return undefined;
    }
    this.#drain ??= new Promise<void>((resolve) => {
      const clock = this.#server.registry.clock;
      const poll = () => {
        if (!this.#open || this.#peer.bufferedAmount() <= this.#highWater / 2) {
          this.#drain = null;
          resolve();
        } else clock.setTimer(poll, DRAIN_POLL_MS);
      };
      clock.setTimer(poll, DRAIN_POLL_MS);
    });
    return this.#drain;
  }

  /** @internal Attachment */
  evict(reason: string): void {
    this.#evicted.abort(reason);
    this.#gone.abort(reason);
  }

  // -- Transport --

  /** The transport is gone: detach the session (its processes keep running). */
  transportClosed(): void {
    if (!this.#open && !this.#session) return;
    this.#open = false;
    this.#gone.abort("the connection closed");
    this.#cancelInitDeadline();
    // Requests still waiting for a slot never ran: nobody could get their answer.
    for (const w of this.#waiting.splice(0)) w.done(null);
    this.#waitingBytes = 0;
    this.#releaseReady();
    // A detached session keeps this connection (to evict its calls when the
    // session is resumed or closed), so let go of the transport: its buffers
    // must not live for the session's TTL.
    this.#peer = CLOSED_PEER;
    const session = this.#session;
    if (session) this.#server.registry.detach(session, this);
  }

  /** Closes the transport (the session detaches). */
  close(code: number, reason: string): void {
    if (!this.#open) return;
    try {
      this.#peer.close(code, reason);
    } finally {
      this.transportClosed();
    }
  }

  #send(message: unknown): void {
    if (!this.#open) return;
    this.#peer.sendText(JSON.stringify(message));
  }

  #sendError(id: RequestId, error: RpcError): void {
    this.#send({ id, error: error.toJson() });
  }
}

function validId(id: unknown): id is RequestId {
  return typeof id === "string" ||
    (typeof id === "number" && Number.isInteger(id));
}

/** UTF-8 byte length of `text` (a lone surrogate counts as U+FFFD: 3 bytes), without encoding it. */
function utf8Length(text: string): number {
  let n = text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) n += 1;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n += 2; // a pair: 2 units, 4 bytes
        i++;
      } else n += 2;
    } else n += 2;
  }
  return n;
}

function clip(s: string): string {
  return s.length > 100 ? `${s.slice(0, 100)}…` : s;
}

function parseParams(method: MethodName, raw: unknown): unknown {
  const input = raw === undefined || raw === null ? {} : raw;
  if (typeof input !== "object" || Array.isArray(input)) {
    throw invalidParams(
      `invalid params for ${method}: params must be an object`,
    );
  }
  const schema: z.ZodType = METHODS[method].params;
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const path = issue && issue.path.length > 0 ? issue.path.join(".") : "params";
  throw invalidParams(
    `invalid params for ${method}: ${path}: ${issue?.message ?? "invalid"}`,
  );
}

function toRpcError(
  err: unknown,
  method: string,
  server: ServerContext,
): RpcError {
  if (err instanceof RpcError) return err;
  server.log.error(`unexpected error in ${clip(method)}: ${messageOf(err)}`);
  return new RpcError(
    ErrorCode.Internal,
    `internal error in ${clip(method)}: ${messageOf(err)}`,
  );
}
