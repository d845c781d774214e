// Copyright 2026 the exec-server authors. MIT license.
/**
 * The in-memory transport: a server core and its clients in one process,
 * linked without sockets (as the MCP SDK's `InMemoryTransport` links a client
 * and a server). Each connect opens a new server-side connection on the same
 * sessions, so resume behaves as over a WebSocket; links can be cut or frozen
 * to test failures. Depends on both the client and the server, which stay
 * independent of each other.
 *
 * @example
 * ```ts
 * import { MemoryServer } from "./mod.ts";
 * import { NULL_LOGGER } from "../util/mod.ts";
 * import assert from "node:assert/strict";
 * await using server = await MemoryServer.start({ logger: NULL_LOGGER });
 * await using client = await server.connect();
 * assert.deepEqual(await client.listProcesses(), []);
 * assert.equal(server.connections, 1);
 * ```
 *
 * @module
 */
export { type MemoryLinkOptions, MemoryServer, type MemoryServerOptions } from "./server.ts";
