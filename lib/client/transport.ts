// Copyright 2026 the exec-server authors. MIT license.
/**
 * The client's transport seam and its WebSocket implementation. A transport
 * carries one JSON-RPC message per text message (plus binary output frames);
 * the client reconnects by calling its {@linkcode TransportConnector} again.
 *
 * The WebSocket connector uses the native `WebSocket` under Deno (which takes
 * handshake headers and an HTTP client for a custom CA) and the npm package
 * `ws` under Node, imported lazily so the Deno path never loads it.
 *
 * @module
 */
import { ConnectionClosedError } from "./errors.ts";
import { messageOf } from "../util/mod.ts";

/**
 * Callbacks a transport reports to; given to the connector.
 *
 * @example Wrapping a connector to watch traffic
 * ```ts
 * import { type TransportConnector, webSocketConnector } from "./transport.ts";
 * import assert from "node:assert/strict";
 * const inner = webSocketConnector("ws://127.0.0.1:8080");
 * let received = 0;
 * const counting: TransportConnector = (handlers, signal) =>
 *   inner({ message: (d) => (received++, handlers.message(d)), close: handlers.close }, signal);
 * assert.equal(typeof counting, "function");
 * assert.equal(received, 0);
 * ```
 */
export interface TransportHandlers {
  /** One inbound message: text (JSON) or binary (an output frame). */
  message(data: string | Uint8Array): void;
  /** The transport closed; called once, with a reason when one is known. */
  close(reason?: string): void;
}

/**
 * An open transport to one server.
 *
 * @example An in-memory transport that discards what it is sent
 * ```ts
 * import type { ClientTransport } from "./transport.ts";
 * import assert from "node:assert/strict";
 * const sent: string[] = [];
 * const transport: ClientTransport = {
 *   binary: false,
 *   send: (text) => void sent.push(text),
 *   close: () => Promise.resolve(),
 * };
 * transport.send("{}");
 * assert.equal(sent.length, 1);
 * ```
 */
export interface ClientTransport {
  /** Whether binary messages can arrive (binary output frames are asked for only then). */
  readonly binary: boolean;
  /** Sends one text message; throws if the transport is closed. */
  send(text: string): void;
  /** Closes the transport; resolves once it is fully closed. Idempotent. */
  close(): Promise<void>;
}

/**
 * Opens a transport. Called once per connection attempt (also when
 * resuming); must reject, and release everything, when `signal` aborts.
 *
 * @example Passing one to the client
 * ```ts ignore
 * const transport: TransportConnector = webSocketConnector("ws://127.0.0.1:8080");
 * const client = await ExecServerClient.connect({ transport });
 * ```
 */
export type TransportConnector = (
  handlers: TransportHandlers,
  signal: AbortSignal,
) => Promise<ClientTransport>;

/**
 * Options for {@linkcode webSocketConnector}.
 *
 * @example
 * ```ts
 * import { webSocketConnector, type WebSocketConnectorOptions } from "./transport.ts";
 * import assert from "node:assert/strict";
 * const options: WebSocketConnectorOptions = { token: "secret", headers: { "x-trace": "1" } };
 * const connect = webSocketConnector("wss://127.0.0.1:8443", options);
 * assert.equal(typeof connect, "function");
 * ```
 */
export interface WebSocketConnectorOptions {
  /** Sent as `Authorization: Bearer <token>` on the upgrade. @default {undefined} */
  token?: string;
  /** Extra PEM CA certificate(s) to trust for `wss://`. @default {undefined} */
  caCert?: string;
  /** Extra handshake headers. @default {{}} */
  headers?: Record<string, string>;
}

interface DenoLike {
  version: { deno: string };
  createHttpClient(options: { caCerts: string[] }): { close(): void };
}

function denoGlobal(): DenoLike | undefined {
  const d = (globalThis as { Deno?: DenoLike }).Deno;
  return typeof d?.version?.deno === "string" ? d : undefined;
}

/**
 * A connector that opens a WebSocket to `url`.
 *
 * @example Connecting a client through an explicit connector
 * ```ts ignore
 * import { ExecServerClient, webSocketConnector } from "./mod.ts";
 * const client = await ExecServerClient.connect({
 *   transport: webSocketConnector("ws://127.0.0.1:8080", { token: "secret" }),
 * });
 * ```
 */
export function webSocketConnector(
  url: string,
  options: WebSocketConnectorOptions = {},
): TransportConnector {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token !== undefined) headers["authorization"] = `Bearer ${options.token}`;
  return (handlers, signal) => {
    if (signal.aborted) return Promise.reject(connectFailure(url, abortReason(signal)));
    const dial: Dial = { url, headers, caCert: options.caCert, handlers, signal };
    return denoGlobal() ? openDeno(dial) : openNode(dial);
  };
}

/** What a connect attempt needs. */
interface Dial {
  url: string;
  headers: Record<string, string>;
  caCert: string | undefined;
  handlers: TransportHandlers;
  signal: AbortSignal;
}

/** The socket calls the transport makes; Deno's WebSocket and ws agree (1 is OPEN). */
interface OpenSocket {
  readonly readyState: number;
  send(text: string): void;
  close(code: number, reason: string): void;
}

/**
 * The transport over an open socket. `closing` runs before a close the
 * client asks for; `closed` settles when the socket is gone.
 */
function socketTransport(
  ws: OpenSocket,
  closed: Promise<void>,
  closing: () => void,
): ClientTransport {
  return {
    binary: true,
    send(text) {
      if (ws.readyState !== 1) {
        throw new ConnectionClosedError("exec-server transport disconnected: socket is closed");
      }
      ws.send(text);
    },
    close() {
      if (ws.readyState <= 1) { // connecting or open
        closing();
        ws.close(1000, "client closed");
      }
      return closed;
    },
  };
}

function connectFailure(url: string, reason: string): ConnectionClosedError {
  return new ConnectionClosedError(`Cannot connect to exec-server at ${url}: ${reason}`);
}

function abortReason(signal: AbortSignal): string {
  return messageOf(signal.reason ?? "aborted");
}

// -- Deno: the native WebSocket --

async function openDeno(
  { url, headers, caCert, handlers, signal }: Dial,
): Promise<ClientTransport> {
  const httpClient = caCert ? denoGlobal()!.createHttpClient({ caCerts: [caCert] }) : undefined;
  const init: Record<string, unknown> = { headers };
  if (httpClient) init.client = httpClient;
  // Deno's WebSocket takes an options object (headers, client) as 2nd argument.
  const ws = new WebSocket(url, init as unknown as string[]);
  ws.binaryType = "arraybuffer";
  let opened = false;
  let closeReason: string | undefined;
  const closed = new Promise<void>((resolve) => {
    ws.addEventListener("close", (e) => {
      httpClient?.close();
      resolve();
      if (opened) handlers.close(closeReason ?? describeClose(e.code, e.reason));
    });
  });
  ws.addEventListener("message", (e) => {
    const data = e.data;
    handlers.message(typeof data === "string" ? data : new Uint8Array(data as ArrayBuffer));
  });
  ws.addEventListener("error", (e) => {
    closeReason ??= (e as ErrorEvent).message || undefined;
  });
  const open = await handshake(signal, closed, () => closeReason, (onOpen) => {
    ws.addEventListener("open", onOpen, { once: true });
  });
  if (open !== true) {
    if (ws.readyState !== WebSocket.CLOSED) ws.close();
    await closed;
    throw connectFailure(url, open);
  }
  opened = true;
  return socketTransport(ws, closed, () => closeReason ??= "client closed");
}

/** Resolves true once open, or with the reason the handshake failed. */
function handshake(
  signal: AbortSignal,
  closed: Promise<void>,
  reason: () => string | undefined,
  onOpen: (fn: () => void) => void,
): Promise<true | string> {
  let onAbort = () => {};
  return new Promise<true | string>((resolve) => {
    onAbort = () => resolve(abortReason(signal));
    signal.addEventListener("abort", onAbort, { once: true });
    onOpen(() => resolve(true));
    void closed.then(() => resolve(reason() ?? "connection closed during the handshake"));
  }).finally(() => signal.removeEventListener("abort", onAbort));
}

/** How a WebSocket close reads in a disconnect message (nothing for a plain normal close). */
export function describeClose(code: number, reason: string): string | undefined {
  if (reason) return `${reason} (close code ${code})`;
  return code === 1000 || code === 1005 ? undefined : `close code ${code}`;
}

// -- Node: the npm package ws --

interface NodeWs {
  readyState: number;
  on(event: "open", fn: () => void): void;
  on(event: "error", fn: (err: Error) => void): void;
  on(event: "close", fn: (code: number, reason: { toString(): string }) => void): void;
  on(event: "message", fn: (data: NodeBytes, isBinary: boolean) => void): void;
  send(text: string): void;
  close(code?: number, reason?: string): void;
  terminate(): void;
}
interface NodeBytes {
  buffer: ArrayBufferLike;
  byteOffset: number;
  byteLength: number;
}
type NodeWsCtor = new (
  url: string,
  options: { headers: Record<string, string>; ca?: string; perMessageDeflate: boolean },
) => NodeWs;

async function openNode(
  { url, headers, caCert, handlers, signal }: Dial,
): Promise<ClientTransport> {
  let mod: { WebSocket?: NodeWsCtor; default?: NodeWsCtor };
  try {
    // Only ever run under Node: Deno takes the native WebSocket above.
    mod = await import("npm:ws@^8.18.0") as unknown as typeof mod;
  } catch (err) {
    throw connectFailure(url, `the npm package ws is required on Node: ${messageOf(err)}`);
  }
  const Ctor = (mod.WebSocket ?? mod.default)!;
  const ws = new Ctor(url, {
    headers,
    perMessageDeflate: false,
    ...(caCert ? { ca: caCert } : {}),
  });
  let opened = false;
  let closeReason: string | undefined;
  const decoder = new TextDecoder();
  const closed = new Promise<void>((resolve) => {
    ws.on("close", (code, reason) => {
      resolve();
      if (opened) handlers.close(closeReason ?? describeClose(code, reason.toString()));
    });
  });
  ws.on("message", (data, isBinary) => {
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    handlers.message(isBinary ? bytes : decoder.decode(bytes));
  });
  ws.on("error", (err) => {
    closeReason ??= err.message;
  });
  const open = await handshake(signal, closed, () => closeReason, (onOpen) => {
    ws.on("open", onOpen);
  });
  if (open !== true) {
    ws.terminate();
    await closed;
    throw connectFailure(url, open);
  }
  opened = true;
  return socketTransport(ws, closed, () => closeReason ??= "client closed");
}
