// Copyright 2026 the exec-server authors. MIT license.
/**
 * An exec-server reached through in-memory links: a
 * {@linkcode TransportConnector} whose every connect opens a new server-side
 * {@linkcode Connection} on one server core, with no socket in between. Messages cross asynchronously (a microtask), in order,
 * binary frames included; closes travel both ways with WebSocket close codes
 * and reasons; bytes waiting for the client count as the peer's
 * `bufferedAmount`, so the server's backpressure runs as over a socket.
 *
 * @module
 */
import { ConnectionClosedError, DISCONNECTED } from "../client/errors.ts";
import {
  type ClientTransport,
  describeClose,
  type TransportConnector,
  type TransportHandlers,
} from "../client/transport.ts";
import { ExecServerClient } from "../client/client.ts";
import type { ExecServerClientOptions } from "../client/options.ts";
import {
  CloseCode,
  type Connection,
  createServerCore,
  type Peer,
  type ServerCore,
  type ServerCoreOptions,
  type SessionRegistry,
} from "../server/mod.ts";
import { messageOf } from "../util/mod.ts";

/** What {@linkcode MemoryServer.start} takes: the core's options and the links'. */
export type MemoryServerOptions = ServerCoreOptions & MemoryLinkOptions;

/** How links behave; for {@linkcode MemoryServer}. */
export interface MemoryLinkOptions {
  /** Whether links carry binary output frames, as a WebSocket does (stdio does not). @default {true} */
  binary?: boolean;
  /** The server pauses producers while more than this many bytes wait for a client. @default {8388608} */
  highWaterBytes?: number;
}

type Frame = string | Uint8Array;
/** The end of a direction's queue: what the other side learns when it gets there. */
type End = { close: string | undefined };

/**
 * An exec-server in this process, reached through in-memory links instead of
 * sockets: every connect opens a new server-side connection on the same
 * sessions, so resume works as over a WebSocket. Faults can be injected:
 * {@linkcode MemoryServer.cut} drops every link, {@linkcode MemoryServer.freeze}
 * makes them half-open.
 *
 * @example A client and a server in one process
 * ```ts
 * import { MemoryServer } from "./mod.ts";
 * import { NULL_LOGGER } from "../util/mod.ts";
 * import assert from "node:assert/strict";
 * await using server = await MemoryServer.start({ logger: NULL_LOGGER });
 * await using client = await server.connect();
 * const out = await client.exec(["sh", "-c", "echo hi; exit 3"]);
 * assert.equal(new TextDecoder().decode(out.stdout), "hi\n");
 * assert.equal(out.exitCode, 3);
 * ```
 *
 * @example Resuming after the link drops
 * ```ts
 * import { MemoryServer } from "./mod.ts";
 * import { NULL_LOGGER } from "../util/mod.ts";
 * import assert from "node:assert/strict";
 * await using server = await MemoryServer.start({ logger: NULL_LOGGER });
 * const states: string[] = [];
 * await using client = await server.connect({ onStateChange: (s) => void states.push(s) });
 * const proc = await client.start({ argv: ["cat"], pipeStdin: true });
 * server.cut();
 * assert.equal(await proc.write("still here\n"), "accepted"); // waits for the resume
 * await proc.closeStdin();
 * assert.equal(new TextDecoder().decode((await proc.output()).stdout), "still here\n");
 * assert.deepEqual(states, ["connected", "resuming", "connected"]);
 * ```
 */
export class MemoryServer implements AsyncDisposable {
  /** Opens a new link; pass it as a client's `transport`. */
  readonly connector: TransportConnector;
  /**
   * All sessions (for tests and embedding; not a stable API).
   * @ignore
   */
  readonly registry: SessionRegistry;
  readonly #core: ServerCore;
  readonly #binary: boolean;
  readonly #highWater: number;
  readonly #links = new Set<Link>();
  #opened = 0;
  #closing: Promise<void> | null = null;

  /** Serves `core` over in-memory links; {@linkcode MemoryServer.close} shuts the core down. */
  private constructor(core: ServerCore, options: MemoryLinkOptions = {}) {
    this.#core = core;
    this.registry = core.registry;
    this.#binary = options.binary ?? true;
    this.#highWater = options.highWaterBytes ?? 8 * 1024 * 1024;
    this.connector = (handlers, signal) => this.#open(handlers, signal);
  }

  /** Builds a server core from `options` and serves it; rejects on bad options. */
  static start(options: MemoryServerOptions = {}): Promise<MemoryServer> {
    try {
      const { binary, highWaterBytes, ...core } = options;
      const links: MemoryLinkOptions = {};
      if (binary !== undefined) links.binary = binary;
      if (highWaterBytes !== undefined) links.highWaterBytes = highWaterBytes;
      return Promise.resolve(new MemoryServer(createServerCore(core), links));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** Connects a client through a new link (and through new ones when it resumes). */
  connect(
    options: Omit<ExecServerClientOptions, "url" | "transport" | "token" | "caCert"> = {},
  ): Promise<ExecServerClient> {
    return ExecServerClient.connect({ ...options, transport: this.connector });
  }

  /** Links currently open. */
  get connections(): number {
    return this.#links.size;
  }

  /** Bytes the server has sent that no client has received yet. */
  get bufferedAmount(): number {
    let n = 0;
    for (const link of this.#links) n += link.queuedBytes;
    return n;
  }

  #open(handlers: TransportHandlers, signal: AbortSignal): Promise<ClientTransport> {
    const refuse = (why: string) =>
      Promise.reject(new ConnectionClosedError(`Cannot connect to exec-server in memory: ${why}`));
    if (signal.aborted) return refuse(messageOf(signal.reason ?? "aborted"));
    if (this.#closing) return refuse("server shutting down");
    const link = new Link(this.#core, handlers, {
      binary: this.#binary,
      highWaterBytes: this.#highWater,
      label: `memory link ${++this.#opened}`,
      gone: () => this.#links.delete(link),
    });
    this.#links.add(link);
    return Promise.resolve(link.transport);
  }

  /**
   * Drops every open link at once, without a close handshake, like a network
   * failure: the server detaches the sessions and each client hears `reason`.
   */
  cut(reason = "connection reset (close code 1006)"): void {
    for (const link of [...this.#links]) link.abort(reason);
  }

  /**
   * Stops delivery on every open link, both ways, without closing it: a
   * half-open link. What is sent meanwhile waits (and counts as buffered)
   * until {@linkcode MemoryServer.thaw}; a client that closes a frozen link
   * tears it down at once, as the server's keepalive eventually would. Links
   * opened later are not frozen.
   */
  freeze(): void {
    for (const link of this.#links) link.frozen = true;
  }

  /** Resumes delivery on every frozen link, in order. */
  thaw(): void {
    for (const link of this.#links) link.frozen = false;
  }

  /**
   * Graceful shutdown: refuses new links, closes the open ones with 1001
   * "server shutting down", then terminates every session's processes.
   * Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      const links = [...this.#links];
      for (const link of links) {
        link.frozen = false;
        link.conn.close(CloseCode.GoingAway, "server shutting down");
      }
      await Promise.all(links.map((l) => l.closed));
      await this.#core.close();
    })();
    return this.#closing;
  }

  /** Same as {@linkcode MemoryServer.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

interface LinkOptions {
  binary: boolean;
  highWaterBytes: number;
  label: string;
  gone: () => void;
}

/** One connection: two ordered queues and the Connection on the server side. */
class Link {
  readonly conn: Connection;
  readonly transport: ClientTransport;
  readonly closed: Promise<void>;
  queuedBytes = 0;
  readonly #core: ServerCore;
  readonly #handlers: TransportHandlers;
  readonly #label: string;
  readonly #gone: () => void;
  readonly #resolveClosed: () => void;
  #toServer: (Frame | End)[] = [];
  #toClient: (Frame | End)[] = [];
  #frozen = false;
  #scheduled = false;
  /** The client may still send (it has neither closed nor heard a close). */
  #clientOpen = true;
  /** The server may still send (it has neither closed nor heard a close). */
  #serverOpen = true;
  #done = false;

  constructor(
    core: ServerCore,
    handlers: TransportHandlers,
    options: LinkOptions,
  ) {
    this.#core = core;
    this.#handlers = handlers;
    this.#label = options.label;
    this.#gone = options.gone;
    const { promise, resolve } = Promise.withResolvers<void>();
    this.closed = promise;
    this.#resolveClosed = resolve;
    const peer: Peer = {
      sendText: (text) => this.#fromServer(text, text.length),
      close: (code, reason) => {
        if (!this.#serverOpen) return;
        this.#serverOpen = false;
        this.#push(this.#toClient, { close: describeClose(code, reason) });
      },
      bufferedAmount: () => this.queuedBytes,
    };
    if (options.binary) {
      // A copy, as a socket would take: the sender may reuse its buffer.
      peer.sendBinary = (data) => this.#fromServer(data.slice(), data.byteLength);
    }
    this.conn = core.connect(peer, {
      highWaterBytes: options.highWaterBytes,
      label: options.label,
    });
    this.transport = {
      binary: options.binary,
      send: (text) => {
        if (!this.#clientOpen) {
          throw new ConnectionClosedError(`${DISCONNECTED}: the in-memory link is closed`);
        }
        this.#push(this.#toServer, text);
      },
      close: () => {
        if (this.#frozen) this.abort("client closed");
        else if (this.#clientOpen) {
          this.#clientOpen = false;
          this.#push(this.#toServer, { close: "client closed" });
        }
        return this.closed;
      },
    };
  }

  set frozen(frozen: boolean) {
    this.#frozen = frozen;
    if (!frozen) this.#schedule();
  }

  #fromServer(frame: Frame, bytes: number): void {
    if (!this.#serverOpen) return;
    this.queuedBytes += bytes;
    this.#push(this.#toClient, frame);
  }

  #push(queue: (Frame | End)[], item: Frame | End): void {
    if (this.#done) return;
    queue.push(item);
    this.#schedule();
  }

  #schedule(): void {
    if (this.#scheduled || this.#frozen || this.#done) return;
    this.#scheduled = true;
    queueMicrotask(() => {
      this.#scheduled = false;
      this.#drain();
    });
  }

  #drain(): void {
    try {
      while (!this.#frozen && !this.#done) {
        const up = this.#toServer.shift();
        if (up !== undefined) this.#deliverToServer(up);
        const down = this.#done ? undefined : this.#toClient.shift();
        if (down !== undefined) this.#deliverToClient(down);
        if (up === undefined && down === undefined) return;
      }
    } finally {
      // A throwing handler stops this round; the rest follows in order.
      if (this.#toServer.length + this.#toClient.length > 0) this.#schedule();
    }
  }

  #deliverToServer(item: Frame | End): void {
    if (typeof item === "string" || item instanceof Uint8Array) {
      try {
        this.conn.receive(item).catch((err) => this.#logError(err));
      } catch (err) {
        // Nothing a client sends may take the server down.
        this.#logError(err);
      }
      return;
    }
    // The client closed: the server hears it and stops sending.
    this.#serverOpen = false;
    this.conn.transportClosed();
    this.#finish(item.close);
  }

  #deliverToClient(item: Frame | End): void {
    if (typeof item === "string" || item instanceof Uint8Array) {
      this.queuedBytes -= typeof item === "string" ? item.length : item.byteLength;
      this.#handlers.message(item);
      return;
    }
    // The server closed (it has already detached the session).
    this.#clientOpen = false;
    this.#finish(item.close);
  }

  /** Tears the link down at once: both sides hear it, queued frames are lost. */
  abort(reason: string): void {
    if (this.#done) return;
    this.#clientOpen = false;
    const serverHeard = !this.#serverOpen;
    this.#serverOpen = false;
    if (!serverHeard) this.conn.transportClosed();
    this.#finish(reason);
  }

  #finish(reason: string | undefined): void {
    if (this.#done) return;
    this.#done = true;
    this.#clientOpen = false;
    this.#serverOpen = false;
    this.#toServer = [];
    this.#toClient = [];
    this.queuedBytes = 0;
    this.#gone();
    this.#resolveClosed();
    this.#handlers.close(reason);
  }

  #logError(err: unknown): void {
    this.#core.log.error(`${this.#label}: unexpected error: ${messageOf(err)}`);
  }
}
