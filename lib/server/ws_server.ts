// Copyright 2026 the exec-server authors. MIT license.
/**
 * The WebSocket server: `Deno.serve` with an upgrade handler in front of the
 * RPC core, `/readyz`, origin and token checks, limits, graceful shutdown.
 *
 * @module
 */
import { messageOf } from "../util/errors.ts";
import type { Spawner } from "../process/child.ts";
import { CloseCode, Connection } from "./connection.ts";
import {
  bearerToken,
  constantTimeEqual,
  type SendGuard,
  socketPeer,
  watchSendProgress,
} from "./ws_peer.ts";
import type { FileSystemService } from "../fs/service.ts";
import { PathConfinement } from "../fs/confine.ts";
import { fsHandlers } from "./fs_handlers.ts";
import { PROCESS_HANDLERS, type ServerContext } from "./process_handlers.ts";
import type { HandlerTable } from "./process_handlers.ts";
import { createLogger, type Logger } from "../util/logger.ts";
import { defaultSpawner } from "../process/spawner.ts";
import { SessionRegistry } from "./session.ts";

/** Options for {@linkcode ExecServer.start}; every field has a default. */
export interface ExecServerOptions {
  /** `ws://IP:PORT` to listen on. @default {"ws://127.0.0.1:0"} */
  listen?: string;
  /** Largest inbound message in bytes. @default {16777216} */
  maxMessageBytes?: number;
  /** Concurrent WebSocket connections. @default {256} */
  maxConnections?: number;
  /** Live sessions. @default {1024} */
  maxSessions?: number;
  /** Processes per session. @default {1024} */
  maxProcesses?: number;
  /** Detached-session lifetime in ms. @default {30000} */
  sessionTtlMs?: number;
  /** Output bytes retained per process. @default {1048576} */
  retainedBytes?: number;
  /** SIGTERM → SIGKILL grace in ms. @default {2000} */
  killGraceMs?: number;
  /** How long a closed process stays readable, in ms. @default {30000} */
  exitedRetentionMs?: number;
  /** WebSocket keepalive: ping interval and dead-peer timeout, in s. @default {30} */
  pingSeconds?: number;
  /** Bearer token required for upgrades; null for none. @default {null} */
  token?: string | null;
  /** Origins allowed to upgrade (exact match); others get 403. @default {[]} */
  allowOrigins?: string[];
  /** PEM certificate and key to serve wss://. @default {null} */
  tls?: { cert: string; key: string } | null;
  /** Logger. @default {a stderr logger at "info"} */
  logger?: Logger;
  /** Directories every fs/* call is confined to; empty = whole filesystem. @default {[]} */
  fsRoots?: string[];
  /** Starts children; defaults to pipes (and terminals when available). */
  spawn?: Spawner;
}

/** Parses a `--listen` value; throws TypeError with codex's wording. */
export function parseListenUrl(
  listen: string,
): { hostname: string; port: number } {
  const m = /^ws:\/\/(\[[0-9a-fA-F:.]+\]|\d{1,3}(?:\.\d{1,3}){3}):(\d{1,5})\/?$/
    .exec(listen);
  if (!listen.startsWith("ws://")) {
    throw new TypeError(
      `unsupported --listen URL ${listen}; expected \`ws://IP:PORT\` or \`stdio\``,
    );
  }
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535) {
    throw new TypeError(
      `invalid websocket --listen URL ${listen}; expected \`ws://IP:PORT\``,
    );
  }
  return { hostname: m[1]!.replace(/^\[|\]$/g, ""), port };
}

/** Whether `hostname` is a loopback address. */
export function isLoopback(hostname: string): boolean {
  return hostname === "::1" || /^127\.\d+\.\d+\.\d+$/.test(hostname);
}

/** What both transports share: sessions, handlers and services. */
export interface ServerCore {
  /** Handler context. */
  context: ServerContext;
  /** Every method's handler. */
  handlers: HandlerTable;
  /** The logger. */
  log: Logger;
  /** All sessions. */
  registry: SessionRegistry;
}

/** Builds the transport-independent part of a server from its options. */
export function createServerCore(options: ExecServerOptions = {}): ServerCore {
  const log = options.logger ?? createLogger("info", (l) => console.error(l));
  const registry = new SessionRegistry({
    ttlMs: options.sessionTtlMs ?? 30_000,
    maxSessions: options.maxSessions ?? 1024,
    maxProcesses: options.maxProcesses ?? 1024,
    timings: {
      killGraceMs: options.killGraceMs ?? 2000,
      retentionMs: options.exitedRetentionMs ?? 30_000,
      retainedBytes: options.retainedBytes ?? 1024 * 1024,
    },
    onExpire: (id) => log.info(`session ${id} expired`),
  });
  const maxMessageBytes = options.maxMessageBytes ?? 16 * 1024 * 1024;
  const context: ServerContext = {
    registry,
    spawn: options.spawn ?? defaultSpawner,
    baseEnv: () => Deno.env.toObject(),
    maxMessageBytes,
    log,
  };
  // Check the roots now (a bad --fs-root fails at startup); load the fs
  // module, and Node's fs layer with it, on the first fs/* call.
  const roots = [...new PathConfinement(options.fsRoots ?? []).roots];
  let fs: Promise<FileSystemService> | null = null;
  const service = () =>
    fs ??= import("../fs/service.ts").then(({ FileSystemService }) =>
      new FileSystemService({
        roots,
        // base64 inflates by 4/3; leave room for the JSON envelope.
        maxReadBytes: Math.max(1024, Math.floor((maxMessageBytes - 4096) * 3 / 4)),
      })
    );
  const handlers: HandlerTable = { ...PROCESS_HANDLERS, ...fsHandlers(service) };
  return { context, handlers, log, registry };
}

/**
 * A running exec-server.
 *
 * @example
 * ```ts ignore
 * await using server = await ExecServer.start({ listen: "ws://127.0.0.1:0" });
 * console.log(server.url);
 * ```
 */
export class ExecServer implements AsyncDisposable {
  /** The bound URL, e.g. `ws://127.0.0.1:43123`. */
  readonly url: string;
  /** All sessions. */
  readonly registry: SessionRegistry;
  readonly #server: Deno.HttpServer<Deno.NetAddr>;
  readonly #sockets = new Set<WebSocket>();
  readonly #log: Logger;
  readonly #state: { closing: boolean };
  #closing: Promise<void> | null = null;

  private constructor(
    url: string,
    server: Deno.HttpServer<Deno.NetAddr>,
    registry: SessionRegistry,
    log: Logger,
    sockets: Set<WebSocket>,
    state: { closing: boolean },
  ) {
    this.#state = state;
    this.url = url;
    this.#server = server;
    this.registry = registry;
    this.#log = log;
    this.#sockets = sockets;
  }

  /** Starts listening; resolves once bound. */
  static start(options: ExecServerOptions = {}): Promise<ExecServer> {
    const { hostname, port } = parseListenUrl(
      options.listen ?? "ws://127.0.0.1:0",
    );
    const { context, handlers, log, registry } = createServerCore(options);
    const maxMessageBytes = context.maxMessageBytes;
    const sockets = new Set<WebSocket>();
    const maxConnections = options.maxConnections ?? 256;
    const allowOrigins = new Set(options.allowOrigins ?? []);
    const token = options.token ?? null;
    const state = { closing: false };
    const pingSeconds = options.pingSeconds ?? 30;
    // Deno drops a peer that misses a ping within pingSeconds; a peer whose
    // queue has not moved for twice that is treated the same.
    const stallMs = 2 * pingSeconds * 1000;
    // Room for the output high-water mark (8 MiB) plus a few largest replies.
    const maxQueuedBytes = 8 * 1024 * 1024 + 4 * maxMessageBytes;

    const handler = (
      req: Request,
      info: Deno.ServeHandlerInfo<Deno.NetAddr>,
    ): Response => {
      const url = new URL(req.url);
      const remote = info.remoteAddr; // unreadable after the upgrade
      if (url.pathname === "/readyz") return new Response("ok\n");
      if (req.headers.get("upgrade")?.toLowerCase() !== "websocket") {
        return new Response(
          "exec-server: connect with a WebSocket; GET /readyz for health\n",
          {
            status: 426,
            headers: { upgrade: "websocket" },
          },
        );
      }
      if (url.pathname !== "/") {
        return new Response("not found\n", { status: 404 });
      }
      const origin = req.headers.get("origin");
      if (origin !== null && !allowOrigins.has(origin)) {
        log.warn(
          `rejected upgrade from origin ${JSON.stringify(origin.slice(0, 200))}`,
        );
        return new Response("forbidden: this origin may not connect\n", {
          status: 403,
        });
      }
      const offered = (req.headers.get("sec-websocket-protocol") ?? "")
        .split(",").map((p) => p.trim()).filter((p) => p !== "");
      if (token !== null) {
        const bearer = bearerToken(req.headers.get("authorization"));
        const sub = offered.find((p) => p.startsWith("bearer."))?.slice(7) ??
          null;
        const given = bearer ?? sub;
        if (given === null || !constantTimeEqual(given, token)) {
          log.warn(
            `rejected upgrade from ${remote.hostname}: missing or wrong token`,
          );
          return new Response(
            "unauthorized: a valid bearer token is required\n",
            {
              status: 401,
              headers: { "www-authenticate": "Bearer" },
            },
          );
        }
      }
      if (state.closing) {
        return new Response("server shutting down\n", { status: 503 });
      }
      if (sockets.size >= maxConnections) {
        log.warn(
          `rejected upgrade: ${sockets.size} connections, limit ${maxConnections}`,
        );
        return new Response(
          `too many connections: the limit is ${maxConnections}\n`,
          {
            status: 503,
          },
        );
      }
      const protocol = offered.includes("exec-server")
        ? "exec-server"
        : offered.find((p) => p.startsWith("bearer."));
      let upgraded;
      try {
        upgraded = Deno.upgradeWebSocket(req, {
          idleTimeout: pingSeconds,
          ...(protocol ? { protocol } : {}),
        });
      } catch (err) {
        log.warn(
          `rejected upgrade from ${remote.hostname}: bad handshake: ${messageOf(err)}`,
        );
        return new Response("bad request: invalid WebSocket handshake\n", {
          status: 400,
        });
      }
      const { socket, response } = upgraded;
      socket.binaryType = "arraybuffer";
      const label = `websocket ${remote.hostname}:${remote.port}`;
      const counter = { sent: 0 };
      let stopWatch = () => {};
      const drop = (code: number, reason: string, detail: string) => {
        stopWatch();
        log.warn(`${label}: dropping the connection: ${detail}`);
        conn.close(code, reason);
      };
      const guard: SendGuard = {
        maxQueuedBytes,
        overflow: (queued) =>
          drop(
            CloseCode.PolicyViolation,
            `peer is not reading: over ${maxQueuedBytes} bytes queued`,
            `${queued} bytes queued for a peer that is not reading (limit ${maxQueuedBytes})`,
          ),
      };
      const conn = new Connection(
        socketPeer(socket, guard, counter),
        context,
        handlers,
        { label },
      );
      stopWatch = watchSendProgress(socket, counter, stallMs, () =>
        drop(
          CloseCode.GoingAway,
          `peer is not reading: nothing sent for ${stallMs / 1000} s`,
          `nothing could be sent for ${stallMs / 1000} s (2 x --ping-interval)`,
        ));
      sockets.add(socket);
      socket.onmessage = (e) => {
        try {
          conn.receive(
            typeof e.data === "string" ? e.data : new Uint8Array(e.data),
          ).catch((err) => log.error(`${label}: unexpected error: ${messageOf(err)}`));
        } catch (err) {
          // Nothing a client sends may take the server down.
          log.error(`${label}: unexpected error: ${messageOf(err)}`);
        }
      };
      socket.onclose = () => {
        // Deno may fire close twice (keepalive timeout, then the read loop).
        if (!sockets.delete(socket)) return;
        stopWatch();
        conn.transportClosed();
        log.debug(`${label}: closed`);
      };
      socket.onerror = () => {};
      return response;
    };

    const tls = options.tls ?? null;
    const server = Deno.serve({
      hostname,
      port,
      ...(tls ? { cert: tls.cert, key: tls.key } : {}),
      onListen() {},
      onError(err) {
        log.error(`http handler failed: ${messageOf(err)}`);
        return new Response("internal error\n", { status: 500 });
      },
    }, handler);
    const addr = server.addr;
    const host = addr.hostname.includes(":") ? `[${addr.hostname}]` : addr.hostname;
    const url = `${tls ? "wss" : "ws"}://${host}:${addr.port}`;
    return Promise.resolve(
      new ExecServer(url, server, registry, log, sockets, state),
    );
  }

  /** Number of open WebSocket connections. */
  get connections(): number {
    return this.#sockets.size;
  }

  /**
   * Graceful shutdown: refuse new connections, terminate every session's
   * process groups (SIGKILL after the grace period), close sockets with 1001.
   * Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#state.closing = true;
      this.#log.info("shutting down");
      // Close the sockets first: a producer paused by a peer that stopped
      // reading is released at once instead of after the kill grace.
      for (const s of this.#sockets) {
        if (s.readyState <= WebSocket.OPEN) {
          s.close(CloseCode.GoingAway, "server shutting down");
        }
      }
      await this.registry.shutdown();
      await this.#server.shutdown();
    })();
    return this.#closing;
  }

  /** Same as {@linkcode ExecServer.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
