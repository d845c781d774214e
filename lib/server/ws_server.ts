// Copyright 2026 the exec-server authors. MIT license.
/**
 * The WebSocket edge of the server. It owns its sockets: an accept loop that
 * survives descriptor exhaustion ({@link ./ws_listener.ts}), a small HTTP/1.1
 * reader with a deadline and a size cap ({@link ./ws_http.ts}), the upgrade
 * checks ({@link ./upgrade.ts}), and RFC 6455 framing with whole-message
 * limits ({@link ./ws_socket.ts}), in front of a {@linkcode ServerCore};
 * and graceful shutdown.
 *
 * Deno's own HTTP server offers no cap on a message (one sent in 1 MiB
 * continuation frames was buffered until the server ran out of memory), no
 * deadline on a request head, and its accept loop ended the process on
 * EMFILE; hence this edge.
 *
 * @module
 */
import { messageOf } from "../util/errors.ts";
import type { Logger } from "../util/logger.ts";
import type { Clock } from "../util/clock.ts";
import { CloseCode } from "./connection.ts";
import { createServerCore, type ServerCore, type ServerCoreOptions } from "./core.ts";
import { boundUrl, DEFAULT_LISTEN, parseListenUrl } from "./listen.ts";
import type { SessionRegistry } from "./session.ts";
import { decideUpgrade, type SocketTable, type UpgradePolicy, wireSocket } from "./upgrade.ts";
import { readRequestHead, serializeResponse, switchingProtocols } from "./ws_http.ts";
import { acceptLoop, closeQuietly, openFileLimit } from "./ws_listener.ts";
import { ServerSocket } from "./ws_socket.ts";
import type { WsAuth } from "./auth.ts";

/** Options of the WebSocket edge (the core does not see them); every field has a default. */
export interface WebSocketServerOptions {
  /** `ws://IP:PORT` to listen on. @default {"ws://127.0.0.1:0"} */
  listen?: string;
  /** Concurrent WebSocket connections. @default {256} */
  maxConnections?: number;
  /** WebSocket keepalive: ping interval and dead-peer timeout, in s. @default {30} */
  pingSeconds?: number;
  /**
   * Bearer token required for upgrades (our `bearer` mode: the
   * `Authorization` header or a `bearer.<token>` subprotocol); null for none.
   * Ignored when `auth` is given. @default {null}
   */
  token?: string | null;
  /**
   * Who may upgrade: ours or codex's `--ws-auth` modes (lib/server/auth.ts).
   * @default {token ? {mode: "bearer", token} : null}
   */
  auth?: WsAuth | null;
  /** Origins allowed to upgrade (exact match); others get 403. @default {[]} */
  allowOrigins?: string[];
  /** PEM certificate and key to serve wss://. @default {null} */
  tls?: { cert: string; key: string } | null;
  /**
   * How long a connection may take to send its request head (and, for
   * wss://, the TLS handshake), in ms; then it is closed. @default {10000}
   */
  handshakeTimeoutMs?: number;
  /** Connections still sending their request head; past it the oldest is dropped. @default {64} */
  maxPendingConnections?: number;
}

/** Options for {@linkcode ExecServer.start}: the core's and the WebSocket edge's. */
export interface ExecServerOptions extends ServerCoreOptions, WebSocketServerOptions {}

/** Largest request head accepted (431 beyond). */
const MAX_HEAD_BYTES = 16 * 1024;
/** How long a refused request may take to read its answer before the connection is closed. */
const LINGER_MS = 1000;

/** Fixed parts of the edge every connection needs. */
interface Edge {
  core: ServerCore;
  policy: UpgradePolicy;
  table: SocketTable;
  live: Set<ServerSocket>;
  handshakeTimeoutMs: number;
  clock: Clock;
  log: Logger;
}

/**
 * A running exec-server.
 *
 * @example
 * ```ts
 * import { ExecServer } from "./ws_server.ts";
 * import { NULL_LOGGER } from "../util/mod.ts";
 * import assert from "node:assert/strict";
 * await using server = await ExecServer.start({ logger: NULL_LOGGER });
 * const ready = await fetch(server.url.replace("ws:", "http:") + "/readyz");
 * assert.equal(await ready.text(), "ok\n");
 * await assert.rejects(ExecServer.start({ listen: "nonsense" }), TypeError);
 * ```
 */
export class ExecServer implements AsyncDisposable {
  /** The bound URL, e.g. `ws://127.0.0.1:43123`. */
  readonly url: string;
  /**
   * All sessions (for tests and embedding; not a stable API).
   * @ignore
   */
  readonly registry: SessionRegistry;
  readonly #listener: Deno.Listener;
  readonly #edge: Edge;
  readonly #accepting: Promise<void>;
  #closing: Promise<void> | null = null;

  private constructor(url: string, listener: Deno.Listener, edge: Edge, accepting: Promise<void>) {
    this.url = url;
    this.#listener = listener;
    this.#edge = edge;
    this.registry = edge.core.registry;
    this.#accepting = accepting;
  }

  /**
   * Starts listening; resolves once bound. Rejects (never throws: every
   * check runs inside the async body) on a bad `listen` URL, a port in use,
   * a bad certificate or a bad `fsRoots` entry.
   */
  // deno-lint-ignore require-await -- async so that every failure is a rejection
  static async start(options: ExecServerOptions = {}): Promise<ExecServer> {
    const { hostname, port } = parseListenUrl(options.listen ?? DEFAULT_LISTEN);
    const core = createServerCore(options);
    const { log, clock } = core;
    const tls = options.tls ?? null;
    const listener: Deno.Listener = tls
      ? Deno.listenTls({ hostname, port, cert: tls.cert, key: tls.key })
      : Deno.listen({ hostname, port });
    const maxConnections = options.maxConnections ?? 256;
    const maxPending = options.maxPendingConnections ?? 64;
    // Half the descriptors are for sockets; processes, pipes, terminals and
    // files need the rest.
    const fdLimit = openFileLimit();
    const budget = fdLimit === null ? Infinity : Math.max(16, Math.floor(fdLimit / 2));
    const maxSockets = Math.min(maxConnections + maxPending, budget);
    const upgrades = Math.min(maxConnections, Math.max(1, maxSockets - 8));
    if (upgrades < maxConnections) {
      log.warn(
        `the open file limit (${fdLimit}) allows ${maxSockets} sockets: at most ${upgrades} ` +
          `connections (--max-connections ${maxConnections}); raise it with ulimit -n`,
      );
    }
    const edge: Edge = {
      core,
      policy: {
        auth: options.auth ?? (options.token ? { mode: "bearer", token: options.token } : null),
        allowOrigins: new Set(options.allowOrigins ?? []),
        maxConnections: upgrades,
        pingSeconds: options.pingSeconds ?? 30,
      },
      table: { sockets: new Set(), closing: false },
      live: new Set(),
      handshakeTimeoutMs: options.handshakeTimeoutMs ?? 10_000,
      clock,
      log,
    };
    const accepting = acceptLoop(listener, {
      maxPending,
      maxSockets,
      active: () => edge.live.size,
      serve: (conn, done) => void serveConnection(edge, conn, done),
      log,
      clock,
    });
    const addr = listener.addr as Deno.NetAddr;
    return new ExecServer(boundUrl(addr, tls !== null), listener, edge, accepting);
  }

  /** Number of open WebSocket connections. */
  get connections(): number {
    return this.#edge.table.sockets.size;
  }

  /**
   * Graceful shutdown: refuse new connections, terminate every session's
   * process groups (SIGKILL after the grace period), close sockets with 1001.
   * Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      const { table, live, log } = this.#edge;
      table.closing = true;
      log.info("shutting down");
      try {
        this.#listener.close();
      } catch {
        // already closed
      }
      // Close the sockets first: a producer paused by a peer that stopped
      // reading is released at once instead of after the kill grace.
      for (const s of [...table.sockets]) s.close(CloseCode.GoingAway, "server shutting down");
      await this.registry.shutdown();
      await this.#accepting;
      await Promise.all([...live].map((s) => s.finished));
    })();
    return this.#closing;
  }

  /** Same as {@linkcode ExecServer.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/** Reads one request from an accepted connection and answers or upgrades it. */
async function serveConnection(edge: Edge, conn: Deno.Conn, done: () => void): Promise<void> {
  const { core, policy, table, log, clock } = edge;
  const cancel = clock.setTimer(() => {
    log.debug("dropping a connection that sent no complete request in time");
    closeQuietly(conn);
  }, edge.handshakeTimeoutMs);
  try {
    const result = await readRequestHead(conn, MAX_HEAD_BYTES);
    cancel();
    if (!result.ok) {
      if (result.status !== null) {
        const body = `bad request: ${result.reason}\n`;
        await respond(conn, new Response(body, { status: result.status }), false, clock);
      }
      return;
    }
    const { head, rest } = result;
    const remote = conn.remoteAddr as Deno.NetAddr;
    const decision = await decideUpgrade(head, remote, policy, table, clock.now(), log);
    if (decision.kind === "respond") {
      await respond(conn, decision.response, head.method === "HEAD", clock);
      return;
    }
    await writeAll(conn, await switchingProtocols(decision.key, decision.protocol));
    const socket = new ServerSocket(conn, {
      maxMessageBytes: core.context.maxMessageBytes,
      pingMs: policy.pingSeconds * 1000,
      clock,
      initial: rest,
    });
    edge.live.add(socket);
    void socket.finished.then(() => edge.live.delete(socket));
    done();
    wireSocket(
      socket,
      core,
      table,
      `websocket ${remote.hostname}:${remote.port}`,
      policy.pingSeconds,
    );
    if (table.closing) socket.close(CloseCode.GoingAway, "server shutting down");
  } catch (err) {
    // A reset, a failed TLS handshake, a deadline: nothing to answer.
    log.debug(`connection dropped before the upgrade: ${messageOf(err)}`);
    closeQuietly(conn);
  } finally {
    cancel();
    done();
  }
}

/**
 * Sends a response and ends the connection: the write side is shut first
 * and what the client still sends is read and dropped for a moment, so the
 * close does not reset the connection before the client read the answer.
 */
async function respond(
  conn: Deno.Conn,
  response: Response,
  head: boolean,
  clock: Clock,
): Promise<void> {
  // The linger ends by closing the connection, which ends a pending read.
  const cancel = clock.setTimer(() => closeQuietly(conn), LINGER_MS);
  try {
    await writeAll(conn, await serializeResponse(response, head));
    await conn.closeWrite();
    const sink = new Uint8Array(16 * 1024);
    let drained = 0;
    while (drained < 256 * 1024) {
      const n = await conn.read(sink).catch(() => null);
      if (n === null) break;
      drained += n;
    }
  } catch {
    // The client is gone.
  } finally {
    cancel();
    closeQuietly(conn);
  }
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let off = 0;
  while (off < bytes.byteLength) off += await conn.write(bytes.subarray(off));
}
