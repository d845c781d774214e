// Copyright 2026 the exec-server authors. MIT license.
/**
 * MCP servers on another machine: {@linkcode ExecutorStdioTransport} runs an
 * MCP stdio server through an exec-server for the MCP TypeScript SDK, with
 * codex's `env_vars` configuration mapped onto `process/start`.
 *
 * @example Building start params from a codex-style config
 * ```ts
 * import { mcpStartParams } from "./mod.ts";
 * import assert from "node:assert/strict";
 * const p = mcpStartParams("p1", { command: "node", args: ["server.js"], cwd: "/srv" }, {});
 * assert.deepEqual(p.argv, ["node", "server.js"]);
 * ```
 *
 * @module
 */
export {
  DEFAULT_ENV_VARS,
  type McpEnvVar,
  type McpServerConfig,
  mcpStartParams,
} from "./config.ts";
export {
  ExecutorStdioTransport,
  type ExecutorStdioTransportOptions,
  type JsonRpcMessage,
} from "./transport.ts";
