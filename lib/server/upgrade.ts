// Copyright 2026 the exec-server authors. MIT license.
/**
 * The HTTP side of the WebSocket edge: `/readyz`, the checks an upgrade must
 * pass (path, origin, token, shutdown, connection limit, handshake), and the
 * wiring of an accepted socket to a connection of the core. Each check is a
 * function that returns the refusal, or null to let the request through.
 *
 * @module
 */
import { messageOf } from "../util/errors.ts";
import type { Logger } from "../util/logger.ts";
import { CloseCode } from "./connection.ts";
import type { ServerCore } from "./core.ts";
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

/** The open sockets of one server, and whether it is shutting down. */
export interface SocketTable {
  /** Every socket between upgrade and close. */
  readonly sockets: Set<WebSocket>;
  /** Set once shutdown began: new upgrades get 503. */
  closing: boolean;
}

/** The remote address, read before the upgrade (it is unreadable after). */
type Remote = Deno.NetAddr;

function plain(body: string, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(body, { status, headers });
}

/** The subprotocols a request offers, in order. */
export function offeredProtocols(req: Request): string[] {
  return (req.headers.get("sec-websocket-protocol") ?? "")
    .split(",").map((p) => p.trim()).filter((p) => p !== "");
}

/** 426 for a plain HTTP request, 404 for an upgrade to a path other than `/`. */
export function refuseRoute(req: Request, url: URL): Response | null {
  if (req.headers.get("upgrade")?.toLowerCase() !== "websocket") {
    return plain("exec-server: connect with a WebSocket; GET /readyz for health\n", 426, {
      upgrade: "websocket",
    });
  }
  return url.pathname === "/" ? null : plain("not found\n", 404);
}

/**
 * 403 for a request carrying an `Origin` not in `allowOrigins` (a browser
 * page: non-browser clients send none).
 */
export function refuseOrigin(
  req: Request,
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
  req: Request,
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

/** 503 while shutting down or at the connection limit. */
export function refuseOverLimit(
  table: SocketTable,
  maxConnections: number,
  log: Logger,
): Response | null {
  if (table.closing) return plain("server shutting down\n", 503);
  const open = table.sockets.size;
  if (open < maxConnections) return null;
  log.warn(`rejected upgrade: ${open} connections, limit ${maxConnections}`);
  return plain(`too many connections: the limit is ${maxConnections}\n`, 503);
}

/**
 * Completes the handshake, echoing `exec-server` (or the bearer
 * subprotocol) when offered; a malformed handshake gets 400.
 */
export function acceptUpgrade(
  req: Request,
  offered: string[],
  pingSeconds: number,
  remote: Remote,
  log: Logger,
): { socket: WebSocket; response: Response } | Response {
  const protocol = offered.includes("exec-server")
    ? "exec-server"
    : offered.find((p) => p.startsWith("bearer."));
  try {
    return Deno.upgradeWebSocket(req, {
      idleTimeout: pingSeconds,
      ...(protocol ? { protocol } : {}),
    });
  } catch (err) {
    log.warn(`rejected upgrade from ${remote.hostname}: bad handshake: ${messageOf(err)}`);
    return plain("bad request: invalid WebSocket handshake\n", 400);
  }
}

/**
 * Serves a connection of `core` over an accepted socket: the send-queue
 * guard, the stalled-peer watchdog, messages in, and the close.
 */
export function wireSocket(
  socket: WebSocket,
  core: ServerCore,
  table: SocketTable,
  label: string,
  pingSeconds: number,
): void {
  const { log } = core;
  // Deno drops a peer that misses a ping within pingSeconds; a peer whose
  // queue has not moved for twice that is treated the same.
  const stallMs = 2 * pingSeconds * 1000;
  // Room for the output high-water mark (8 MiB) plus a few largest replies.
  const maxQueuedBytes = 8 * 1024 * 1024 + 4 * core.context.maxMessageBytes;
  socket.binaryType = "arraybuffer";
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
  stopWatch = watchSendProgress(socket, counter, stallMs, () =>
    drop(
      CloseCode.GoingAway,
      `peer is not reading: nothing sent for ${stallMs / 1000} s`,
      `nothing could be sent for ${stallMs / 1000} s (2 x --ping-interval)`,
    ), core.clock);
  table.sockets.add(socket);
  const unexpected = (err: unknown) => log.error(`${label}: unexpected error: ${messageOf(err)}`);
  socket.onmessage = (e) => {
    try {
      conn.receive(typeof e.data === "string" ? e.data : new Uint8Array(e.data)).catch(unexpected);
    } catch (err) {
      // Nothing a client sends may take the server down.
      unexpected(err);
    }
  };
  socket.onclose = () => {
    // Deno may fire close twice (keepalive timeout, then the read loop).
    if (!table.sockets.delete(socket)) return;
    stopWatch();
    conn.transportClosed();
    log.debug(`${label}: closed`);
  };
  socket.onerror = () => {};
}

/**
 * The request handler of a WebSocket server: `/readyz`, then the checks in
 * order (route, origin, credentials, limits, handshake), then the wiring.
 */
export function upgradeHandler(
  core: ServerCore,
  policy: UpgradePolicy,
  table: SocketTable,
): (req: Request, info: Deno.ServeHandlerInfo<Deno.NetAddr>) => Promise<Response> {
  const { log } = core;
  return async (req, info) => {
    const url = new URL(req.url);
    const remote = info.remoteAddr;
    if (url.pathname === "/readyz") return plain("ok\n");
    const offered = offeredProtocols(req);
    const refusal = refuseRoute(req, url) ??
      refuseOrigin(req, policy.allowOrigins, log) ??
      await refuseAuth(req, offered, policy.auth, core.clock.now(), remote, log) ??
      refuseOverLimit(table, policy.maxConnections, log);
    if (refusal) return refusal;
    const upgraded = acceptUpgrade(req, offered, policy.pingSeconds, remote, log);
    if (upgraded instanceof Response) return upgraded;
    wireSocket(
      upgraded.socket,
      core,
      table,
      `websocket ${remote.hostname}:${remote.port}`,
      policy.pingSeconds,
    );
    return upgraded.response;
  };
}
