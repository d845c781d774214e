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
export * from "./protocol/mod.ts";
export { ExecServer, type ExecServerOptions } from "./server/mod.ts";
export * from "./client/mod.ts";
export { type MemoryLinkOptions, MemoryServer, type MemoryServerOptions } from "./memory/mod.ts";
