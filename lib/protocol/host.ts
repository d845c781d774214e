// Copyright 2026 the exec-server authors. MIT license.
/**
 * What the executor host offers besides processes and files, as codex 0.171
 * has it: `http/request` (an HTTP request made from the executor, its body
 * whole in the reply or streamed as `http/request/bodyDelta` notifications)
 * and `environmentConfig/read` (the executor's own codex configuration
 * layers, filtered to the key paths asked for).
 *
 * The schemas check shapes; what a value means (an HTTP token, a URL scheme,
 * a header value) is checked by the host part, with codex's messages.
 *
 * @example
 * ```ts
 * import { HttpRequestParamsSchema } from "./host.ts";
 * import assert from "node:assert/strict";
 * const p = HttpRequestParamsSchema.parse({
 *   method: "GET", url: "http://127.0.0.1/", requestId: "r1",
 *   headers: [{ name: "authorization", value: "Bearer ", valueEnvVar: "TOKEN" }],
 * });
 * assert.equal(p.headers?.[0]?.valueEnvVar, "TOKEN");
 * assert.equal(HttpRequestParamsSchema.safeParse({ method: "GET", url: "x" }).success, false);
 * ```
 *
 * @module
 */
import { z } from "npm:zod@^4.1.0";
import type {
  ConfigLayer,
  ConfigLayerStack,
  EnvironmentConfigReadParams,
  EnvironmentConfigReadResult,
  HttpBodyDelta,
  HttpHeader,
  HttpRequestParams,
  HttpRequestResult,
  HttpResponseHeader,
} from "./wire.ts";
import { FileSystemSandboxContextSchema, FileUriSchema } from "./sandbox.ts";

/**
 * A request header. `valueEnvVar` names a variable of the executor's
 * environment whose value is appended to `value` (which stays required):
 * `{name: "authorization", value: "Bearer ", valueEnvVar: "API_TOKEN"}`.
 */
export const HttpHeaderSchema = z.object({
  name: z.string(),
  value: z.string(),
  valueEnvVar: z.string().nullish(),
});
/** A request header. */
export type { HttpHeader };

/** A response header (names lowercased, wire order, repeats kept). */
export const HttpResponseHeaderSchema = z.object({ name: z.string(), value: z.string() });
/** A response header. */
export type { HttpResponseHeader };

/** `http/request` params. */
export const HttpRequestParamsSchema = z.object({
  /** An HTTP method token, sent as given (`get` stays lowercase). */
  method: z.string(),
  /** An absolute `http://` or `https://` URL; the fragment is dropped. */
  url: z.string(),
  /** Sent in this order, names lowercased, repeats as separate lines. @default [] */
  headers: z.array(HttpHeaderSchema).optional(),
  /** The request body; absent, null or "" sends none. */
  bodyBase64: z.string().nullish(),
  /** Deadline for the whole exchange, body included, in ms; null or absent: none; 0 fails at once. */
  timeoutMs: z.number().int().nonnegative().nullish(),
  /** `follow` (at most 10 redirects) or `stop` (a 3xx is the result). @default "follow" */
  redirectPolicy: z.enum(["follow", "stop"]).optional(),
  /** Names the request; a streamed response's notifications carry it. */
  requestId: z.string(),
  /** Reply once the headers arrive, then send the body as `http/request/bodyDelta`. @default false */
  streamResponse: z.boolean().optional(),
  /**
   * Ours (codex has no such field): a permission profile whose network is
   * `restricted` refuses the request instead of making it. Null or absent:
   * the server's own policy.
   */
  sandbox: FileSystemSandboxContextSchema.nullish(),
});
/** `http/request` params (validated). */
export type { HttpRequestParams };

/** `http/request` result; `bodyBase64` is "" when the body is streamed. */
export const HttpRequestResultSchema = z.object({
  status: z.number().int(),
  headers: z.array(HttpResponseHeaderSchema),
  bodyBase64: z.string(),
});
/** `http/request` result. */
export type { HttpRequestResult };

/**
 * `http/request/bodyDelta`: one piece of a streamed body, `seq` from 1. The
 * last one has `deltaBase64: ""` and `done: true`, with `error` set when the
 * body failed (it is null on every other frame).
 */
export const HttpBodyDeltaSchema = z.object({
  requestId: z.string(),
  seq: z.number().int().positive(),
  deltaBase64: z.string(),
  done: z.boolean(),
  error: z.string().nullable(),
});
/** `http/request/bodyDelta` params. */
export type { HttpBodyDelta };

/** A TOML key path: `["mcp_servers"]`, `["mcp_servers", "docs"]`. */
export const TomlPathSchema = z.array(z.string());

/** `environmentConfig/read` params; every field is required. */
export const EnvironmentConfigReadParamsSchema = z.object({
  /** Where project layers are looked for (a `file://` URI; it need not exist). */
  cwd: FileUriSchema,
  /** Key paths to return from the config layers. */
  configPaths: z.array(TomlPathSchema),
  /** Key paths to return from the requirements layers. */
  requirementsPaths: z.array(TomlPathSchema),
});
/** `environmentConfig/read` params (validated). */
export type { EnvironmentConfigReadParams };

/** One config layer: where it comes from, the directory its relative paths use, its TOML. */
export const ConfigLayerSchema = z.object({
  /** `system (/etc/codex/config.toml)`, `user (…)`, `project (…/.codex/config.toml)`. */
  source: z.string(),
  /** A `file://` URI. */
  baseDir: z.string(),
  /** Only the key paths asked for, re-serialized. */
  toml: z.string(),
});
/** One config layer. */
export type { ConfigLayer };

/** Layers from lowest to highest precedence; cloud layers would go in at the index. */
export const ConfigLayerStackSchema = z.object({
  layers: z.array(ConfigLayerSchema),
  cloudInsertionIndex: z.number().int().nonnegative(),
});
/** A layer stack. */
export type { ConfigLayerStack };

/** `environmentConfig/read` result. */
export const EnvironmentConfigReadResultSchema = z.object({
  userHomeDir: z.string(),
  codexHomeDir: z.string(),
  hostname: z.string(),
  config: ConfigLayerStackSchema,
  requirements: ConfigLayerStackSchema,
});
/** `environmentConfig/read` result. */
export type { EnvironmentConfigReadResult };

/** The host methods, ready to be spread into the method table. */
export const HOST_METHODS = {
  "http/request": { params: HttpRequestParamsSchema, result: HttpRequestResultSchema },
  "environmentConfig/read": {
    params: EnvironmentConfigReadParamsSchema,
    result: EnvironmentConfigReadResultSchema,
  },
} as const;

/** A host method name. */
export type HostMethodName = keyof typeof HOST_METHODS;
