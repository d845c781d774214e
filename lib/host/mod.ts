// Copyright 2026 the exec-server authors. MIT license.
/**
 * The executor host: what a client reaches on the executor's machine besides
 * processes and files. `http/request` is made from the executor's network
 * position (see {@linkcode openExchange}); `environmentConfig/read` returns
 * the executor's own codex configuration layers (see
 * {@linkcode readEnvironmentConfig}).
 *
 * @example Checking a request the way the server does
 * ```ts
 * import { planRequest } from "./mod.ts";
 * import assert from "node:assert/strict";
 * const plan = planRequest(
 *   { method: "GET", url: "http://127.0.0.1:8080/x#frag", requestId: "r",
 *     headers: [{ name: "Authorization", value: "Bearer ", valueEnvVar: "TOKEN" }] },
 *   { TOKEN: "s3cret" },
 * );
 * assert.equal(plan.url.href, "http://127.0.0.1:8080/x");
 * assert.deepEqual(plan.headers, [
 *   ["authorization", "Bearer s3cret", true], // from the environment: kept within the origin
 *   ["accept", "*\/*"],
 *   ["accept-encoding", "zstd,gzip"],
 *   ["host", "127.0.0.1:8080"],
 * ]);
 * ```
 *
 * @module
 */
export * from "./http.ts";
export * from "./config.ts";
export * from "./toml.ts";
