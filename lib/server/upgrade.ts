// Copyright 2026 the exec-server authors. MIT license.
/**
 * The HTTP side of the WebSocket edge: `/readyz`, the checks an upgrade must
 * pass (path, method, origin, token, shutdown, connection limit, handshake),
 * and the wiring of an accepted socket to a connection of the core. Each
 * check is a function of the request that returns the refusal, or null to
 * let it through.
 *
 * @module
 */
import type { Logger } from "../util/logger.ts";
import { CloseCode } from "./close_code.ts";
import type { ServerCore } from "./core.ts";
import { handshakeKey } from "./ws_http.ts";
import type { ServerSocket } from "./ws_socket.ts";
import { type SendGuard, socketPeer, watchSendProgress } from "./ws_peer.ts";
import { authorize, type WsAuth } from "./auth.ts";

/** What an upgrade is checked against. */
export interface UpgradePolicy {
  /** Who may upgrade (see lib/server/auth.ts), or null for anyone. */
  auth: WsAuth | null;
  /** Origins allowed to upgrade (exact match). */
  allowOrigins: ReadonlySet<string>;
  /** Concurrent connections. */
  maxConnections: number;
  /** Keepalive ping interval and dead-peer timeout, in s. */
  pingSeconds: number;
}

/** An upgraded socket, as the connection limit sees it. */
export interface TrackedSocket {
  /** When it was upgraded, on the server's clock. */
  readonly openedAt: number;
  /** Whether its connection has a session yet. */
  readonly initialized: boolean;
  /** Closes it (its slot is freed at once). */
  close(code: number, reason: string): void;
}

/** The open sockets of one server, and whether it is shutting down. */
export interface SocketTable {
  /** Every socket between upgrade and close. */
  readonly sockets: Set<TrackedSocket>;
  /** Set once shutdown began: new upgrades get 503. */
  closing: boolean;
}

/** The parts of a request the checks read (a `Request` has them too). */
export interface UpgradeRequest {
  /** Method, e.g. `GET`. */
  readonly method: string;
  /** Absolute URL. */
  readonly url: string;
  /** Header fields. */
  readonly headers: Headers;
}

/** The remote address of the request. */
export type Remote = { readonly hostname: string; readonly port: number };

function plain(body: string, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(body, { status, headers });
}

/** The subprotocols a request offers, in order. */
function offeredProtocols(req: UpgradeRequest): string[] {
  return (req.headers.get("sec-websocket-protocol") ?? "")
    .split(",").map((p) => p.trim()).filter((p) => p !== "");
}

/** 426 for a plain HTTP request, 404 for an upgrade to a path other than `/`. */
export function refuseRoute(req: UpgradeRequest, url: URL): Response | null {
  if (req.headers.get("upgrade")?.toLowerCase() !== "websocket") {
    return plain("exec-server: connect with a WebSocket; GET /readyz for health\n", 426, {
      upgrade: "websocket",
    });
  }
  return url.pathname === "/" ? null : plain("not found\n", 404);
}

/** 405 for an upgrade by any method but GET (RFC 6455 section 4.1). */
export function refuseMethod(req: UpgradeRequest): Response | null {
  if (req.method === "GET") return null;
  return plain("method not allowed: a WebSocket upgrade is a GET request\n", 405, { allow: "GET" });
}

/**
 * 403 for a request carrying an `Origin` not in `allowOrigins` (a browser
 * page: non-browser clients send none).
 */
export function refuseOrigin(
  req: UpgradeRequest,
  allowOrigins: ReadonlySet<string>,
  log: Logger,
): Response | null {
  const origin = req.headers.get("origin");
  if (origin === null || allowOrigins.has(origin)) return null;
  log.warn(`rejected upgrade from origin ${JSON.stringify(origin.slice(0, 200))}`);
  return plain("forbidden: this origin may not connect\n", 403);
}

/**
 * 401 unless the request's credentials pass `auth` (see
 * {@linkcode authorize}); the log names the peer and the reason, never the
 * token.
 */
export async function refuseAuth(
  req: UpgradeRequest,
  offered: string[],
  auth: WsAuth | null,
  nowMs: number,
  remote: Remote,
  log: Logger,
): Promise<Response | null> {
  const refused = await authorize(
    auth,
    { authorization: req.headers.get("authorization"), protocols: offered },
    nowMs,
  );
  if (refused === null) return null;
  log.warn(`rejected upgrade from ${remote.hostname}: ${refused.reason}`);
  return plain(`${refused.body}\n`, refused.status, refused.headers);
}

/** 503 while shutting down. */
function refuseShutdown(table: SocketTable): Response | null {
  return table.closing ? plain("server shutting down\n", 503) : null;
}

/** 503 while shutting down or at the connection limit. */
export function refuseOverLimit(
  table: SocketTable,
  maxConnections: number,
  log: Logger,
): Response | null {
  const closing = refuseShutdown(table);
  if (closing) return closing;
  const open = table.sockets.size;
  if (open < maxConnections) return null;
  log.warn(`rejected upgrade: ${open} connections, limit ${maxConnections}`);
  return plain(`too many connections: the limit is ${maxConnections}\n`, 503);
}

/**
 * At the connection limit, closes the oldest socket that has been open for
 * `minAgeMs` without initializing, so that upgrades that never start cannot
 * keep real clients out until their initialize deadline. True if one was
 * closed.
 */
export function evictUninitialized(
  table: SocketTable,
  maxConnections: number,
  now: number,
  minAgeMs: number,
  log: Logger,
): boolean {
  if (table.sockets.size < maxConnections) return false;
  for (const s of table.sockets) {
    if (s.initialized || now - s.openedAt < minAgeMs) continue;
    log.warn("too many connections: closing the oldest one that never initialized");
    s.close(CloseCode.PolicyViolation, "too many connections: this one never initialized");
    table.sockets.delete(s);
    return true;
  }
  return false;
}

/** 400 unless the request is a valid WebSocket handshake (RFC 6455 section 4.2.1). */
export function refuseHandshake(req: UpgradeRequest, remote: Remote, log: Logger): Response | null {
  if (handshakeKey(req) !== null) return null;
  log.warn(`rejected upgrade from ${remote.hostname}: bad handshake`);
  return plain("bad request: invalid WebSocket handshake\n", 400);
}

/** The subprotocol to echo: `exec-server` when offered, else the bearer one a browser sent. */
function chosenProtocol(offered: string[]): string | null {
  return offered.includes("exec-server")
    ? "exec-server"
    : offered.find((p) => p.startsWith("bearer.")) ?? null;
}

/** What to do with a request. */
export type UpgradeDecision =
  | { kind: "respond"; response: Response }
  | { kind: "upgrade"; key: string; protocol: string | null };

/**
 * The decision for one request: `/readyz`, then the checks of the request in
 * order (route, method, origin, credentials, handshake). The connection limit
 * is not one of them: {@linkcode reserveSlot} applies it, in one step with
 * taking the slot, after the request passed (so a request that is refused
 * anyway never evicts anyone).
 */
export async function decideUpgrade(
  req: UpgradeRequest,
  remote: Remote,
  policy: UpgradePolicy,
  table: SocketTable,
  now: number,
  log: Logger,
): Promise<UpgradeDecision> {
  const url = new URL(req.url);
  if (url.pathname === "/readyz") {
    const response = req.method === "GET" || req.method === "HEAD"
      ? plain("ok\n")
      : plain("method not allowed\n", 405, { allow: "GET, HEAD" });
    return { kind: "respond", response };
  }
  const offered = offeredProtocols(req);
  const refusal = refuseRoute(req, url) ??
    refuseMethod(req) ??
    refuseOrigin(req, policy.allowOrigins, log) ??
    await refuseAuth(req, offered, policy.auth, now, remote, log);
  if (refusal) return { kind: "respond", response: refusal };
  const bad = refuseHandshake(req, remote, log);
  if (bad) return { kind: "respond", response: bad };
  const closing = refuseShutdown(table);
  if (closing) return { kind: "respond", response: closing };
  return { kind: "upgrade", key: handshakeKey(req)!, protocol: chosenProtocol(offered) };
}

/**
 * Takes a connection slot for an upgrade that passed the checks, until its
 * socket is wired (which takes the slot over) or the upgrade fails (`release`).
 * The limit is checked in the same step: the checks await (the credentials,
 * the core's first load), so without a slot a burst of upgrades could pass
 * them all before any socket is counted. At the limit, the oldest socket
 * that never initialized (open for a second or more) makes room (see
 * {@linkcode evictUninitialized}); else the 503 is returned. Evicting this
 * slot as never initialized calls `abort`.
 */
export function reserveSlot(
  table: SocketTable,
  maxConnections: number,
  now: number,
  abort: () => void,
  log: Logger,
): { slot: TrackedSocket; release: () => void } | Response {
  if (!table.closing) evictUninitialized(table, maxConnections, now, 1000, log);
  const over = refuseOverLimit(table, maxConnections, log);
  if (over) return over;
  const slot: TrackedSocket = {
    openedAt: now,
    initialized: false,
    close: () => {
      table.sockets.delete(slot);
      abort();
    },
  };
  table.sockets.add(slot);
  return { slot, release: () => void table.sockets.delete(slot) };
}

/**
 * Serves a connection of `core` over an upgraded socket: the send-queue
 * guard, the stalled-peer watchdog, messages in (holding the socket's reads
 * while the connection's requests wait), and the close.
 */
export function wireSocket(
  socket: ServerSocket,
  core: ServerCore,
  table: SocketTable,
  label: string,
  pingSeconds: number,
  reserved?: TrackedSocket,
): void {
  const { log } = core;
  // The keepalive drops a peer that misses a ping within pingSeconds; a peer
  // whose queue has not moved for twice that is treated the same.
  const stallMs = 2 * pingSeconds * 1000;
  // Room for the output high-water mark (8 MiB) plus a few largest replies.
  const maxQueuedBytes = 8 * 1024 * 1024 + 4 * core.context.maxMessageBytes;
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
  const conn = core.connect(socketPeer(socket, guard, counter), { label });
  const tracked: TrackedSocket = {
    openedAt: core.clock.now(),
    get initialized() {
      return conn.session !== null;
    },
    close: (code, reason) => conn.close(code, reason),
  };
  stopWatch = watchSendProgress(socket, counter, stallMs, () =>
    drop(
      CloseCode.GoingAway,
      `peer is not reading: nothing sent for ${stallMs / 1000} s`,
      `nothing could be sent for ${stallMs / 1000} s (2 x --ping-interval)`,
    ), core.clock);
  // The socket takes over the slot its upgrade reserved.
  if (reserved) table.sockets.delete(reserved);
  table.sockets.add(tracked);
  socket.start({
    message(data, bytes) {
      // receive() never rejects: a fault closes this connection, not the server.
      void conn.receive(data, bytes);
      return conn.ready();
    },
    closed(code, reason) {
      table.sockets.delete(tracked);
      stopWatch();
      conn.transportClosed();
      log.debug(`${label}: closed (${code}${reason ? ` ${reason}` : ""})`);
    },
  });
}
