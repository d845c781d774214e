// Copyright 2026 the exec-server authors. MIT license.
/**
 * The WebSocket edge of the server: `Deno.serve` with the upgrade handler
 * ({@link ./upgrade.ts}) in front of a {@linkcode ServerCore}, and graceful
 * shutdown.
 *
 * @module
 */
import { messageOf } from "../util/errors.ts";
import type { Logger } from "../util/logger.ts";
import { CloseCode } from "./connection.ts";
import { createServerCore, type ServerCore, type ServerCoreOptions } from "./core.ts";
import { boundUrl, DEFAULT_LISTEN, parseListenUrl } from "./listen.ts";
import type { SessionRegistry } from "./session.ts";
import { type SocketTable, upgradeHandler } from "./upgrade.ts";
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
}

/** Options for {@linkcode ExecServer.start}: the core's and the WebSocket edge's. */
export interface ExecServerOptions extends ServerCoreOptions, WebSocketServerOptions {}

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
  /** All sessions. */
  readonly registry: SessionRegistry;
  readonly #server: Deno.HttpServer<Deno.NetAddr>;
  readonly #table: SocketTable;
  readonly #log: Logger;
  readonly #core: ServerCore;
  #closing: Promise<void> | null = null;

  private constructor(
    url: string,
    server: Deno.HttpServer<Deno.NetAddr>,
    core: ServerCore,
    table: SocketTable,
  ) {
    this.url = url;
    this.#server = server;
    this.registry = core.registry;
    this.#log = core.log;
    this.#core = core;
    this.#table = table;
  }

  /**
   * Starts listening; resolves once bound. Rejects (never throws: every
   * check runs inside the async body) on a bad `listen` URL, a port in use
   * or a bad `fsRoots` entry.
   */
  static async start(options: ExecServerOptions = {}): Promise<ExecServer> {
    const { hostname, port } = parseListenUrl(options.listen ?? DEFAULT_LISTEN);
    const core = createServerCore(options);
    const table: SocketTable = { sockets: new Set(), closing: false };
    const handler = upgradeHandler(core, {
      auth: options.auth ?? (options.token ? { mode: "bearer", token: options.token } : null),
      allowOrigins: new Set(options.allowOrigins ?? []),
      maxConnections: options.maxConnections ?? 256,
      pingSeconds: options.pingSeconds ?? 30,
    }, table);
    const tls = options.tls ?? null;
    const bound = Promise.withResolvers<Deno.NetAddr>();
    const server = Deno.serve({
      hostname,
      port,
      ...(tls ? { cert: tls.cert, key: tls.key } : {}),
      onListen: bound.resolve,
      onError(err) {
        core.log.error(`http handler failed: ${messageOf(err)}`);
        return new Response("internal error\n", { status: 500 });
      },
    }, handler);
    const addr = await bound.promise;
    return new ExecServer(boundUrl(addr, tls !== null), server, core, table);
  }

  /** Number of open WebSocket connections. */
  get connections(): number {
    return this.#table.sockets.size;
  }

  /**
   * Graceful shutdown: refuse new connections, terminate every session's
   * process groups (SIGKILL after the grace period), close sockets with 1001.
   * Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#table.closing = true;
      this.#log.info("shutting down");
      // Close the sockets first: a producer paused by a peer that stopped
      // reading is released at once instead of after the kill grace.
      for (const s of this.#table.sockets) {
        if (s.readyState <= WebSocket.OPEN) {
          s.close(CloseCode.GoingAway, "server shutting down");
        }
      }
      await this.#core.close();
      await this.#server.shutdown();
    })();
    return this.#closing;
  }

  /** Same as {@linkcode ExecServer.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
