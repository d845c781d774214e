// Copyright 2026 the exec-server authors. MIT license.
/**
 * The raw JSON-RPC client over a native WebSocket that both the benchmarks
 * (`bench/client.ts`) and the end-to-end tests (`tests/_harness.ts`) build
 * on. It validates nothing, so tests can send what `lib/client` never would,
 * and keeps nothing it is not asked to, so the bench measures the server, not
 * the client: a text message is parsed once and handed on, a binary output
 * frame is decoded in place (views, no copy) by the protocol's own decoder.
 *
 * Subclasses hear about traffic through the protected `on…` hooks; requests
 * are matched to responses here, each with a deadline, and all fail at once
 * when the connection closes.
 *
 * It lives in `bench/` because the bench must run on its own and tests
 * already import the bench (tests → bench → lib, never back).
 *
 * @module
 */
import { decodeOutputFrame, type OutputFrame } from "../lib/protocol/binary_frame.ts";

export type { OutputFrame };

/** A JSON-RPC message as received (nothing is validated). */
// deno-lint-ignore no-explicit-any
export type Message = Record<string, any>;

/** A JSON-RPC error response, as a thrown error. */
export class ResponseError extends Error {
  /** The JSON-RPC error code. */
  readonly code: number;
  /** Creates it. */
  constructor(code: number, message: string) {
    super(message);
    this.name = "ResponseError";
    this.code = code;
  }
}

/** What a {@linkcode RawClient} talks over: a WebSocket, or anything shaped like one. */
export type WebSocketLike = Pick<
  WebSocket,
  "send" | "close" | "readyState" | "bufferedAmount" | "binaryType" | "addEventListener"
>;

/** Options for {@linkcode openWebSocket}. */
export interface OpenOptions {
  /** Extra handshake headers (Deno's non-standard WebSocket option). */
  headers?: Record<string, string>;
  /** Subprotocols. */
  protocols?: string[];
  /** Deno HTTP client (for TLS with a custom CA). */
  client?: Deno.HttpClient;
  /** Give up after this long. @default {10_000} */
  timeoutMs?: number;
  /** Retry while the connection is refused (a server still starting). @default {false} */
  retryRefused?: boolean;
}

/** Opens a WebSocket and resolves once it is open; rejects with the reason otherwise. */
export async function openWebSocket(url: string, options: OpenOptions = {}): Promise<WebSocket> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const deadline = Date.now() + timeoutMs;
  // deno-lint-ignore no-explicit-any
  const init: any = { headers: options.headers, protocols: options.protocols };
  if (options.client) init.client = options.client;
  for (;;) {
    const ws = new WebSocket(url, init);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const opened = await new Promise<true | Error>((resolve) => {
      timer = setTimeout(
        () => resolve(new Error(`no answer within ${timeoutMs} ms`)),
        Math.max(0, deadline - Date.now()),
      );
      ws.onopen = () => resolve(true);
      ws.onerror = (e) => resolve(new Error((e as ErrorEvent).message ?? "error"));
    });
    clearTimeout(timer);
    ws.onopen = null;
    ws.onerror = null;
    if (opened === true) return ws;
    await new Promise<void>((resolve) => {
      ws.onclose = () => resolve();
      if (ws.readyState === WebSocket.CLOSED) resolve();
      else ws.close();
    });
    if (!options.retryRefused || !/refused/i.test(opened.message) || Date.now() > deadline) {
      throw new Error(`Cannot connect to ${url}: ${opened.message}`, { cause: opened });
    }
    await new Promise((r) => setTimeout(r, 25));
  }
}

interface Pending {
  method: string;
  resolve: (m: Message) => void;
  reject: (e: Error) => void;
  timer: ReturnType<typeof setTimeout>;
}

/** One connection: ids, pending requests with deadlines, `initialize`, and hooks. */
export class RawClient implements AsyncDisposable {
  /** Resolves with the close event's code and reason. */
  readonly closed: Promise<{ code: number; reason: string }>;
  /** Session id from `initialize`. */
  sessionId = "";
  /** Whether the server granted binary output frames in `initialize`. */
  binaryOutput = false;
  /** The `clientName` sent in `initialize`. */
  readonly clientName: string;
  readonly #ws: WebSocketLike;
  readonly #pending = new Map<number | string, Pending>();
  #nextId = 1;

  /** Wraps an open socket. */
  constructor(ws: WebSocketLike, clientName: string) {
    this.#ws = ws;
    this.clientName = clientName;
    ws.binaryType = "arraybuffer";
    this.closed = new Promise((resolve) => {
      ws.addEventListener("close", (e) => {
        for (const p of this.#pending.values()) {
          clearTimeout(p.timer);
          p.reject(new Error(`connection closed before the response to ${p.method}`));
        }
        this.#pending.clear();
        resolve({ code: e.code, reason: e.reason });
        this.onClose();
      });
    });
    ws.addEventListener("message", (e) => this.#receive(e.data));
  }

  #receive(data: unknown): void {
    if (typeof data !== "string") {
      const bytes = new Uint8Array(data as ArrayBuffer);
      let frame: OutputFrame;
      try {
        frame = decodeOutputFrame(bytes);
      } catch (err) {
        this.onInvalid(bytes, err as Error);
        return;
      }
      this.onOutput(frame);
      return;
    }
    let msg: Message;
    try {
      msg = JSON.parse(data);
    } catch (err) {
      this.onInvalid(data, err as Error);
      return;
    }
    if ("id" in msg && !("method" in msg)) {
      const p = this.#pending.get(msg.id);
      if (!p) return this.onStray(msg);
      this.#pending.delete(msg.id);
      clearTimeout(p.timer);
      p.resolve(msg);
      return;
    }
    this.onNotification(msg);
  }

  /** A message with a method (a notification, or a request from the server). */
  protected onNotification(_msg: Message): void {}

  /** A binary output frame; `frame.data` is a view into the received bytes. */
  protected onOutput(_frame: OutputFrame): void {}

  /** A response whose id nobody waits for (e.g. to an id the server could not read). */
  protected onStray(_msg: Message): void {}

  /** The connection closed (after every pending request was rejected). */
  protected onClose(): void {}

  /** Text that is not JSON, or a binary message that is no output frame. Throws by default. */
  protected onInvalid(_data: string | Uint8Array, error: Error): void {
    throw new Error(`Cannot read a message from the server: ${error.message}`, { cause: error });
  }

  /**
   * Sends a request and resolves with the whole response message (result or
   * error); rejects when the connection closes or no answer comes in time.
   */
  call(
    method: string,
    params?: unknown,
    options: { id?: number | string; timeoutMs?: number } = {},
  ): Promise<Message> {
    const id = options.id ?? this.#nextId++;
    const timeoutMs = options.timeoutMs ?? 30_000;
    const { promise, resolve, reject } = Promise.withResolvers<Message>();
    const timer = setTimeout(() => {
      if (this.#pending.get(id)?.timer !== timer) return;
      this.#pending.delete(id);
      reject(new Error(`${method} got no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    const earlier = this.#pending.get(id);
    if (earlier) {
      clearTimeout(earlier.timer);
      earlier.reject(new Error(`request id ${id} was reused by ${method}`));
    }
    this.#pending.set(id, { method, resolve, reject, timer });
    try {
      this.#ws.send(
        JSON.stringify(params === undefined ? { id, method } : { id, method, params }),
      );
    } catch (err) {
      this.#pending.delete(id);
      clearTimeout(timer);
      reject(err as Error);
    }
    return promise;
  }

  /** Sends a request; resolves with its `result` or throws {@linkcode ResponseError}. */
  async request(method: string, params?: unknown, timeoutMs?: number): Promise<Message> {
    const msg = await this.call(method, params, timeoutMs === undefined ? {} : { timeoutMs });
    if (msg.error) throw new ResponseError(msg.error.code, msg.error.message);
    return msg.result;
  }

  /** Sends a notification. */
  notify(method: string, params?: unknown): void {
    this.#ws.send(JSON.stringify({ method, params }));
  }

  /** Sends a raw text or binary message. */
  sendRaw(data: string | Uint8Array): void {
    this.#ws.send(data as string);
  }

  /** `initialize` (resuming `resumeSessionId` if given), then `initialized`. */
  async initialize(resumeSessionId?: string, binaryOutput?: boolean): Promise<Message> {
    const params: Message = { clientName: this.clientName };
    if (resumeSessionId) params.resumeSessionId = resumeSessionId;
    if (binaryOutput !== undefined) params.capabilities = { binaryOutput };
    const result = await this.request("initialize", params);
    this.sessionId = result.sessionId;
    this.binaryOutput = result.capabilities?.binaryOutput === true;
    this.notify("initialized", {});
    return result;
  }

  /** Bytes queued on the socket but not yet sent. */
  get bufferedAmount(): number {
    return this.#ws.bufferedAmount;
  }

  /** Closes the socket and waits for the close, at most `timeoutMs`. */
  async close(timeoutMs = 5000): Promise<void> {
    if (this.#ws.readyState <= WebSocket.OPEN) this.#ws.close();
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([this.closed, new Promise<void>((r) => timer = setTimeout(r, timeoutMs))]);
    clearTimeout(timer);
  }

  /** Same as {@linkcode RawClient.close}. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/**
 * `process/start` params with the defaults tests and benchmarks use: piped
 * (no terminal), cwd `/tmp`, and only `PATH` from this process's environment.
 */
export function startParams(
  processId: string,
  argv: string[],
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    processId,
    argv,
    cwd: "/tmp",
    env: { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin" },
    tty: false,
    ...extra,
  };
}
