// Copyright 2026 the exec-server authors. MIT license.
/**
 * The server: a transport-neutral core (sessions, managed processes, output
 * retention, the method handlers, the RPC {@linkcode Connection}) and two thin
 * edges over it, the WebSocket server ({@linkcode ExecServer}) and the stdio
 * server ({@linkcode serveStdio}).
 *
 * @example Starting a WebSocket server in-process
 * ```ts
 * import { ExecServer } from "./mod.ts";
 * import { NULL_LOGGER } from "../util/mod.ts";
 * import assert from "node:assert/strict";
 * await using server = await ExecServer.start({ listen: "ws://127.0.0.1:0", logger: NULL_LOGGER });
 * assert.match(server.url, /^ws:\/\/127\.0\.0\.1:\d+$/);
 * ```
 *
 * @module
 */
export { ExecServer, type ExecServerOptions, type WebSocketServerOptions } from "./ws_server.ts";
export { createServerCore, type ServerCore, type ServerCoreOptions } from "./core.ts";
export { DEFAULT_LISTEN, isLoopback, parseListenUrl } from "./listen.ts";
export { serveStdio, type StdioServeOptions } from "./stdio_server.ts";
export { CloseCode, Connection, type ConnectionOptions, type Peer } from "./connection.ts";
export { DEFAULT_SESSION_TTL_MS, SessionRegistry, type SessionRegistryOptions } from "./session.ts";
export { type Clock, SYSTEM_CLOCK } from "../util/clock.ts";
