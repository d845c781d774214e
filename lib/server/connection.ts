// Copyright 2026 the exec-server authors. MIT license.
/**
 * The RPC core of one connection: the size limit and JSON parsing of a
 * message (sorted by rpc_message.ts), the initialize/initialized lifecycle,
 * dispatch through the method table, the in-flight limit (request_queue.ts),
 * and the attachment a session pushes notifications through. Runtime-neutral:
 * the transport is a {@linkcode Peer} (peer.ts).
 *
 * @module
 */
import type { StreamName } from "../process/child.ts";
import { ErrorCode, invalidRequest, RpcError } from "../protocol/errors.ts";
import type {
  CallContext,
  ConnectionScope,
  HandlerTable,
  ServerContext,
} from "./process_handlers.ts";
import { messageOf } from "../util/errors.ts";
import { CloseCode } from "./close_code.ts";
import { decodeUtf8 } from "../util/bytes.ts";
import { isMethodName, type MethodName } from "../protocol/methods.ts";
import { methodGroup } from "../protocol/environment.ts";
import type { InitializeParams, InitializeResult, RequestId } from "../protocol/process.ts";
import type { Attachment, Session } from "./session.ts";
import { RequestQueue } from "./request_queue.ts";
import { CLOSED_PEER, DrainWait, type Peer, sendOutput } from "./peer.ts";
import { classify, clip, parseParams, toRpcError, utf8Length } from "./rpc_message.ts";

export type { Peer } from "./peer.ts";

/** Options for {@linkcode Connection}. */
export interface ConnectionOptions {
  /** Pause producers while more than this many bytes are queued. @default {8388608} */
  highWaterBytes?: number;
  /** Label for logs, such as the peer address. @default {"peer"} */
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
const IMMEDIATE_METHODS: ReadonlySet<string> = new Set([
  "ping",
  "process/terminate",
  "process/signal",
  "process/list",
  "process/resize",
]);

export { CloseCode } from "./close_code.ts";

/** A response the connection produced. */
export type Response =
  | { id: RequestId; result: unknown }
  | { id: RequestId; error: ReturnType<RpcError["toJson"]> };

type Outcome = { id: RequestId; result: unknown } | { id: RequestId; error: RpcError };

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
  readonly #queue: RequestQueue;
  readonly #drain: DrainWait;
  #cancelInitDeadline: () => void = () => {};

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
    this.#drain = new DrainWait(
      () => this.#open ? this.#peer.bufferedAmount() : 0,
      options.highWaterBytes ?? 8 * 1024 * 1024,
      server.registry.clock,
    );
    this.#label = options.label ?? "peer";
    this.#queue = new RequestQueue({
      maxInFlight: options.maxInFlight ?? 64,
      maxWaitingBytes: server.maxMessageBytes,
      clock: server.registry.clock,
    });
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
    return this.#open ? this.#queue.ready() : undefined;
  }

  #receive(frame: string | Uint8Array, bytes?: number): Promise<Response | null> {
    if (!this.#open) return Promise.resolve(null);
    const size = bytes ?? (typeof frame === "string" ? utf8Length(frame) : frame.byteLength);
    if (size > this.#server.maxMessageBytes) {
      const limit = this.#server.maxMessageBytes;
      this.#server.log.warn(`${this.#label}: closing: message of ${size} bytes is too big`);
      this.close(CloseCode.TooBig, `message too big: ${size} bytes exceeds the limit of ${limit}`);
      return Promise.resolve(null);
    }
    let message: unknown;
    try {
      const text = typeof frame === "string" ? frame : decodeUtf8(frame);
      message = JSON.parse(text);
    } catch (err) {
      const why = `failed to parse JSON-RPC message from ${this.#label}: ${messageOf(err)}`;
      this.#sendError(-1, invalidRequest(why));
      return Promise.resolve(null);
    }
    return this.#route(message, size);
  }

  #route(message: unknown, size: number): Promise<Response | null> {
    const inbound = classify(message);
    switch (inbound.kind) {
      case "request":
        return this.#admit(inbound.id, inbound.method, inbound.params, size);
      case "notification":
        this.#notification(inbound.method);
        break;
      case "response":
        this.#server.log.warn(`${this.#label}: closing: client sent a JSON-RPC response`);
        this.close(CloseCode.PolicyViolation, "unexpected JSON-RPC response from client");
        break;
      case "invalid":
        this.#sendError(inbound.id, inbound.error);
        break;
    }
    return Promise.resolve(null);
  }

  #notification(method: string): void {
    if (method === "initialized") {
      if (this.#initializeRequested && this.#session) {
        this.#initialized = true;
        return;
      }
      this.#server.log.warn(`${this.#label}: closing: initialized sent before initialize`);
      this.close(CloseCode.PolicyViolation, "initialized notification sent before initialize");
      return;
    }
    const quoted = JSON.stringify(clip(method));
    this.#server.log.warn(`${this.#label}: closing: unexpected notification ${quoted}`);
    this.close(CloseCode.PolicyViolation, `unexpected notification ${clip(method)}`);
  }

  /** Runs a request now if a slot is free (or it never waits), else queues it. */
  #admit(id: RequestId, method: string, params: unknown, size: number): Promise<Response | null> {
    if (IMMEDIATE_METHODS.has(method)) return this.#request(id, method, params);
    return this.#queue.admit(
      size,
      () => this.#request(id, method, params).catch((err) => this.#fault(err)),
    );
  }

  async #request(id: RequestId, method: string, rawParams: unknown): Promise<Response> {
    let outcome: Outcome;
    const after: (() => void)[] = [];
    try {
      outcome = { id, result: await this.#dispatch(method, rawParams, after) };
    } catch (err) {
      outcome = { id, error: toRpcError(err, method, this.#server.log) };
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
      const why = `exec-server does not implement \`${clip(method)}\``;
      throw new RpcError(ErrorCode.MethodNotFound, why);
    }
    if (method === "initialize") {
      return this.#initialize(parseParams(method, rawParams) as InitializeParams);
    }
    // Params first, as codex 0.171 does: a malformed call is -32602 even
    // before initialize; a well-formed one is then refused by the lifecycle.
    const params = parseParams(method, rawParams);
    const session = this.#requireReady(method);
    const ctx: CallContext = {
      session,
      signal: this.#evicted.signal,
      server: this.#server,
      connection: this.#scope,
      afterResponse: (fn) => void after.push(fn),
    };
    const handler = this.#handlers[method] as (p: unknown, c: CallContext) => Promise<unknown>;
    const result = await handler(params, ctx);
    if (!session.isAttached(this) && this.#evicted.signal.aborted) {
      throw invalidRequest(this.#evictedReason());
    }
    return result;
  }

  #requireReady(method: MethodName): Session {
    const kind = methodGroup(method);
    if (!this.#initializeRequested || !this.#session) {
      throw invalidRequest(`client must call initialize before using ${kind} methods`);
    }
    if (!this.#initialized) {
      throw invalidRequest(`client must send initialized before using ${kind} methods`);
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
      this.#binaryOutput = Boolean(params.capabilities.binaryOutput && this.#peer.sendBinary);
      result.capabilities = { binaryOutput: this.#binaryOutput };
    }
    const how = params.resumeSessionId ? "resumed" : "created";
    this.#server.log.info(`${this.#label}: ${how} session ${this.#session.id}`);
    return result;
  }

  // -- Attachment --

  /** @internal Attachment */
  notify(method: string, params: unknown): void {
    this.#send({ method, params });
  }

  /** @internal Attachment */
  output(processId: string, seq: number, stream: StreamName, data: Uint8Array): void {
    if (this.#open) sendOutput(this.#peer, this.#binaryOutput, processId, seq, stream, data);
  }

  /**
   * @internal Attachment
   *
   * Undefined while the peer's queue is under the high-water mark, else a
   * promise that resolves once it is down to half (or the transport closed).
   */
  congested(): Promise<void> | undefined {
    return this.#open ? this.#drain.wait() : undefined;
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
    this.#queue.close();
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
