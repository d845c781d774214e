// Copyright 2026 the exec-server authors. MIT license.
/**
 * exec-server: run processes and files on a machine for remote clients over
 * one WebSocket, wire-compatible with openai/codex's exec-server protocol.
 *
 * @example Starting a server in-process
 * ```ts ignore
 * import { ExecServer } from "./mod.ts";
 * await using server = await ExecServer.start({ listen: "ws://127.0.0.1:0" });
 * console.log(server.url);
 * ```
 *
 * @module
 */
// The server, in-process servers, the whole client with the wire types, and the protocol's
// constants. The zod schemas stay internal (lib/protocol/): the public types are their
// plain-TypeScript form (lib/protocol/wire.ts), so the API shows no zod types.
export { ExecServer, type ExecServerOptions, type WebSocketServerOptions } from "./server/mod.ts";
export type { ServerCoreOptions } from "./server/mod.ts";
export type { WsAuth } from "./server/auth.ts";
export type { Logger, LogLevel } from "./util/logger.ts";
export type { Clock } from "./util/clock.ts";
export { type MemoryLinkOptions, MemoryServer, type MemoryServerOptions } from "./memory/mod.ts";
export * from "./client/mod.ts";
export {
  ErrorCode,
  type ErrorCodeValue,
  ErrorKind,
  type ErrorKindValue,
} from "./protocol/errors.ts";
export { decodeOutputFrame, encodeOutputFrame, type OutputFrame } from "./protocol/binary_frame.ts";
