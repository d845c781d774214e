// Copyright 2026 the exec-server authors. MIT license.
/**
 * Differential cases: what the executor host offers beyond processes and
 * files: `http/request` (against the suite's loopback server, `$HTTP`),
 * `environmentConfig/read` and `capabilities/discoverV2` (against the shared
 * `CODEX_HOME` and `HOME` under `$SHARED`, see `_differential_host.ts`).
 *
 * @module
 */
import { b64, type CallStep, type Case } from "./_differential.ts";

/** An `http/request` with defaults: GET, request id `r`. */
function http(params: Record<string, unknown>, compared: Omit<CallStep, "call" | "params"> = {}) {
  return {
    call: "http/request",
    params: { method: "GET", requestId: "r", ...params },
    ...compared,
  };
}

/** `environmentConfig/read` for `cwd` (a `$SHARED_URI` path). */
function config(cwd: string, configPaths: unknown, requirementsPaths: unknown = []): CallStep {
  return { call: "environmentConfig/read", params: { cwd, configPaths, requirementsPaths } };
}

/** `capabilities/discoverV2`, which ours does not implement (row `no-capability-discovery`). */
function discover(params: unknown, codex: unknown): CallStep {
  return {
    call: "capabilities/discoverV2",
    params,
    differs: "no-capability-discovery",
    expect: { codex, ours: { error: { code: -32601 } } },
  };
}

/** Host cases. */
export const HOST_CASES: Case[] = [
  {
    name: "http/request: method, headers and body reach the server; the reply comes whole",
    steps: [
      http({ url: "$HTTP/echo?q=1#frag" }),
      http({
        method: "POST",
        url: "$HTTP/echo",
        headers: [{ name: "X-A", value: "1" }, { name: "x-a", value: "2" }, {
          name: "user-agent",
          value: "mine",
        }],
        bodyBase64: b64("body!"),
      }),
      http({ method: "BREW", url: "$HTTP/echo", bodyBase64: "" }),
      http({ method: "get", url: "$HTTP/echo" }),
      http({ method: "Post", url: "$HTTP/echo", bodyBase64: b64("b") }),
      http({ url: "$HTTP/headers" }),
      http({ url: "$HTTP/status/404" }),
      http({ url: "$HTTP/status/204" }),
      http({ method: "HEAD", url: "$HTTP/echo" }),
    ],
  },
  {
    name: "http/request: redirects, followed or not, at most 10",
    steps: [
      http({ url: "$HTTP/redirect?n=2" }),
      http({ url: "$HTTP/redirect?n=2", redirectPolicy: "stop" }),
      http({ method: "POST", url: "$HTTP/redirect?n=1&code=302", bodyBase64: b64("b") }),
      http({ method: "POST", url: "$HTTP/redirect?n=1&code=307", bodyBase64: b64("b") }),
      // Which redirects turn the request into a GET: 301 and 302 only a POST
      // (as sent: \`post\` stays), 303 all but a HEAD; the method's case is kept.
      http({ method: "HEAD", url: "$HTTP/redirect?n=1&code=301" }),
      http({ method: "HEAD", url: "$HTTP/redirect?n=1&code=303" }),
      http({ method: "POST", url: "$HTTP/redirect?n=1&code=301", bodyBase64: b64("b") }),
      http({ method: "post", url: "$HTTP/redirect?n=1&code=302", bodyBase64: b64("b") }),
      http({ method: "PUT", url: "$HTTP/redirect?n=1&code=302", bodyBase64: b64("b") }),
      http({ method: "DELETE", url: "$HTTP/redirect?n=1&code=301" }),
      http({ method: "PUT", url: "$HTTP/redirect?n=1&code=303", bodyBase64: b64("b") }),
      http({ method: "head", url: "$HTTP/redirect?n=1&code=303" }),
      http({ method: "get", url: "$HTTP/redirect?n=1&code=302" }),
      http({ method: "put", url: "$HTTP/redirect?n=1&code=307", bodyBase64: b64("b") }),
      http({ url: "$HTTP/redirect?n=10" }),
      http({ url: "$HTTP/redirect?n=11" }),
      http({ url: "$HTTP/loop" }),
      http({ url: "$HTTP/to-file" }),
    ],
  },
  {
    name: "http/request refuses bad params",
    steps: [
      http({ url: "ftp://127.0.0.1/x" }, { text: true }),
      http({ url: "file:///etc/passwd" }),
      http({ url: "not a url" }),
      http({ method: "GE T", url: "$HTTP/echo" }),
      http({ method: "", url: "$HTTP/echo" }),
      http({ url: "$HTTP/echo", headers: { a: "b" } }),
      http({ url: "$HTTP/echo", headers: [{ name: "bad name", value: "x" }] }),
      http({ url: "$HTTP/echo", headers: [{ name: "x", value: "a\nb" }] }),
      http({ url: "$HTTP/echo", headers: [{ name: "x" }] }),
      http({ url: "$HTTP/echo", bodyBase64: "!!" }),
      http({ url: "$HTTP/echo", redirectPolicy: null }),
      http({ url: "$HTTP/echo", redirectPolicy: "manual" }),
      http({ url: "$HTTP/echo", streamResponse: null }),
      http({ url: "$HTTP/echo", timeoutMs: null }),
      http({ url: "$HTTP/echo", requestId: 5 }),
      { call: "http/request", params: { method: "GET", url: "$HTTP/echo" } },
    ],
  },
  {
    name: "http/request: header values from the executor's environment",
    steps: [
      http({ url: "$HTTP/echo", headers: [{ name: "x-home", value: "h=", valueEnvVar: "HOME" }] }),
      http({
        url: "$HTTP/echo",
        headers: [{ name: "x-a", value: "", valueEnvVar: "NO_SUCH_VAR_XYZ" }],
      }, { text: true }),
    ],
  },
  {
    name: "http/request: failures",
    steps: [
      http({ url: "http://127.0.0.1:9/refused" }),
      http({ url: "$HTTP/echo", timeoutMs: 0 }),
      http({ url: "$HTTP/abort" }),
    ],
  },
  {
    name: "http/request streamResponse: headers first, then the body in bodyDelta notifications",
    steps: [
      http({ url: "$HTTP/stream?n=3", requestId: "s1", streamResponse: true }),
      { bodyDeltas: "s1" },
      http({ url: "$HTTP/status/204", requestId: "s2", streamResponse: true }),
      { bodyDeltas: "s2" },
      http({ url: "$HTTP/abort", requestId: "s3", streamResponse: true }),
      { bodyDeltas: "s3" },
    ],
  },
  {
    name: "environmentConfig/read returns the executor's config layers, filtered",
    sharedHome: true,
    steps: [
      config("$SHARED_URI/elsewhere", [["mcp_servers"]]),
      config("$SHARED_URI/elsewhere", [["mcp_servers"], ["model"]]),
      config("$SHARED_URI/elsewhere", [["mcp_servers", "echo"]]),
      config("$SHARED_URI/elsewhere", [["no_such_key"]]),
      config("$SHARED_URI/project", [["mcp_servers"]], [["mcp_servers"]]),
      config("$SHARED_URI/untrusted", [["mcp_servers"]]),
    ],
  },
  {
    name:
      "capabilities/discoverV2: codex lists the skills of codex home and the user, ours lacks it",
    sharedHome: true,
    steps: [
      discover({ cwd: "$SHARED_URI/project" }, { result: { plugins: [] } }),
      discover({ cwd: "$SHARED_URI/missing", sandbox: null }, { result: { plugins: [] } }),
      discover({}, { error: { code: -32602 } }),
      discover(null, { error: { code: -32602 } }),
      // Its flag says so: a client that honours it never calls the method.
      {
        call: "environment/info",
        params: null,
        omit: ["result.shell", "result.executorVersion", "result.providerId", "result.cwd"],
        differs: "environment-info",
        expect: {
          codex: { result: { capabilities: { capabilityDiscoveryV2: true } } },
          ours: { result: { capabilities: { capabilityDiscoveryV2: false } } },
        },
      },
    ],
  },
  {
    name: "environmentConfig/read refuses bad params",
    sharedHome: true,
    steps: [
      config("$SHARED_URI", [], []),
      config("$SHARED_URI", [[]]),
      config("$SHARED_URI", ["mcp_servers"]),
      config("$SHARED", [["mcp_servers"]]),
      { call: "environmentConfig/read", params: { configPaths: [["x"]], requirementsPaths: [] } },
      { call: "environmentConfig/read", params: null },
    ],
  },
];
