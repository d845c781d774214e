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
 * The core (sessions, handlers, the protocol's schemas) loads when the
 * first WebSocket is accepted, not at start: a server nobody connected to
 * yet holds only its listener (about 15 MB less resident memory). Options
 * that must fail at start (`fsRoots`) load it at once.
 *
 * @module
 */
import { messageOf } from "../util/errors.ts";
import { createLogger, type Logger } from "../util/logger.ts";
import { type Clock, SYSTEM_CLOCK } from "../util/clock.ts";
import { CloseCode } from "./close_code.ts";
import type { ServerCore, ServerCoreOptions } from "./core.ts";
import { boundUrl, DEFAULT_LISTEN, parseListenUrl } from "./listen.ts";
import type { SessionRegistry } from "./session.ts";
import {
  decideUpgrade,
  reserveSlot,
  type SocketTable,
  type UpgradePolicy,
  wireSocket,
} from "./upgrade.ts";
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
  /** The core, loaded and built on first use (the first accepted WebSocket). */
  core: () => Promise<ServerCore>;
  /** The core once built, else null. */
  built: () => ServerCore | null;
  /** The core being loaded now, else null. */
  loading: () => Promise<ServerCore> | null;
  /** Largest inbound message (the core's limit, known before it loads). */
  maxMessageBytes: number;
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
  readonly #listener: Deno.Listener;
  readonly #edge: Edge;
  readonly #accepting: Promise<void>;
  #closing: Promise<void> | null = null;

  private constructor(url: string, listener: Deno.Listener, edge: Edge, accepting: Promise<void>) {
    this.url = url;
    this.#listener = listener;
    this.#edge = edge;
    this.#accepting = accepting;
  }

  /**
   * All sessions, null until the core loaded (on the first WebSocket); for
   * tests and embedding, not a stable API.
   * @ignore
   */
  get registry(): SessionRegistry | null {
    return this.#edge.built()?.registry ?? null;
  }

  /**
   * Starts listening; resolves once bound. Rejects (never throws: every
   * check runs inside the async body) on a bad `listen` URL, a port in use,
   * a bad certificate or a bad `fsRoots` entry.
   */
  static async start(options: ExecServerOptions = {}): Promise<ExecServer> {
    const { hostname, port } = parseListenUrl(options.listen ?? DEFAULT_LISTEN);
    const log = options.logger ?? createLogger("info", (l) => console.error(l));
    const clock = options.clock ?? SYSTEM_CLOCK;
    const core = lazyCore({ ...options, logger: log, clock });
    // A bad --fs-root must fail now, not on the first connection.
    if ((options.fsRoots ?? []).length > 0) await core.get();
    const tls = options.tls ?? null;
    const listener: Deno.Listener = tls
      ? Deno.listenTls({ hostname, port, cert: tls.cert, key: tls.key })
      : Deno.listen({ hostname, port });
    const maxConnections = options.maxConnections ?? 256;
    const maxPending = options.maxPendingConnections ?? 64;
    // Half the descriptors are for sockets; processes, pipes, terminals and
    // files need the rest.
    const fdLimit = await openFileLimit();
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
      core: core.get,
      built: core.built,
      loading: core.loading,
      maxMessageBytes: options.maxMessageBytes ?? 16 * 1024 * 1024,
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
   * Graceful shutdown: refuse new connections, close sockets with 1001,
   * terminate every session's process groups (SIGKILL after the grace
   * period), then close the core (its fs roots, inotify instance and the
   * sandbox's files on the host). Idempotent.
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
      // A core still loading is waited for, so that what it starts is stopped too;
      // closing it ends the sessions, then lets go of the fs roots, the inotify
      // instance and what the sandbox keeps on the host.
      const core = this.#edge.built() ?? await this.#edge.loading()?.catch(() => null);
      await core?.close();
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

/**
 * The core, loaded (`core.ts` and everything behind it) and built on the
 * first `get()`; every later call gets the same one. A failure is not kept:
 * the next call tries again.
 */
function lazyCore(options: ServerCoreOptions): {
  get: () => Promise<ServerCore>;
  built: () => ServerCore | null;
  loading: () => Promise<ServerCore> | null;
} {
  let core: ServerCore | null = null;
  let loading: Promise<ServerCore> | null = null;
  return {
    get: () => {
      if (core) return Promise.resolve(core);
      loading ??= import("./core.ts").then(({ createServerCore }) => {
        core = createServerCore(options);
        return core;
      }).finally(() => loading = null);
      return loading;
    },
    built: () => core,
    loading: () => loading,
  };
}

/** Reads one request from an accepted connection and answers or upgrades it. */
async function serveConnection(edge: Edge, conn: Deno.Conn, done: () => void): Promise<void> {
  const { policy, table, log, clock } = edge;
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
    // The core loads before the checks (not between them and the upgrade),
    // so the connection limit counts every socket of a burst during the load.
    let core: ServerCore | null = null;
    // Not after shutdown began: a core loaded then would never be closed.
    if (!table.closing && /^websocket$/i.test(head.headers.get("upgrade") ?? "")) {
      try {
        core = await edge.core();
      } catch (err) {
        log.error(`cannot load the server core: ${messageOf(err)}`);
        await respond(conn, new Response("server error\n", { status: 500 }), false, clock);
        return;
      }
    }
    const decision = await decideUpgrade(head, remote, policy, table, clock.now(), log);
    if (decision.kind === "respond" || core === null) {
      const response = decision.kind === "respond"
        ? decision.response
        : new Response("bad request\n", { status: 400 });
      await respond(conn, response, head.method === "HEAD", clock);
      return;
    }
    const reserved = reserveSlot(
      table,
      policy.maxConnections,
      clock.now(),
      () => closeQuietly(conn),
      log,
    );
    if (reserved instanceof Response) {
      await respond(conn, reserved, false, clock);
      return;
    }
    try {
      await writeAll(conn, await switchingProtocols(decision.key, decision.protocol));
    } catch (err) {
      reserved.release();
      throw err;
    }
    if (!table.sockets.has(reserved.slot)) {
      closeQuietly(conn); // evicted meanwhile
      return;
    }
    const socket = new ServerSocket(conn, {
      maxMessageBytes: edge.maxMessageBytes,
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
      reserved.slot,
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
