// Copyright 2026 the exec-server authors. MIT license.
/**
 * `http/request` from the executor's network position: one exchange with
 * codex 0.171's rules (http and https only, headers in order with repeats,
 * `valueEnvVar` appended from the executor's environment, codex's default
 * headers, at most 10 redirects, never to another scheme, one deadline for
 * the whole exchange; unlike codex, `valueEnvVar` headers are not sent to
 * another origin a redirect points at), over Node's HTTP client, which lets the server send
 * exactly these headers (no user agent of its own) and read the response's
 * headers in wire order.
 *
 * The body is handed out as an async iterator so the caller decides how much
 * to hold: a whole-body read stops at a byte limit, a stream pulls one piece
 * at a time, and nothing is read faster than the caller asks.
 *
 * @module
 */
import http from "node:http";
import https from "node:https";
import zlib from "node:zlib";
import type { Readable } from "node:stream";
import { internalError, invalidParams } from "../protocol/errors.ts";
import type { HttpRequestParams, HttpResponseHeader } from "../protocol/host.ts";
import type { Clock } from "../util/clock.ts";
import { messageOf } from "../util/errors.ts";

/** Redirects followed at most (codex 0.171's limit); one more is an error. */
const MAX_REDIRECTS = 10;

/** What codex advertises; both are decoded, and so are `br` and `deflate` if sent anyway. */
const ACCEPT_ENCODING = "zstd,gzip";

/** An HTTP token (RFC 9110 `tchar`s): methods and header names. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** A header value: no control characters but tab (non-ASCII is sent as UTF-8). */
// deno-lint-ignore no-control-regex
const FIELD_VALUE = /^[^\x00-\x08\x0a-\x1f\x7f]*$/;

/** A response header value a client receives: visible ASCII and tab (others are dropped, as codex does). */
const VISIBLE_VALUE = /^[\t\x20-\x7e]*$/;

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const SENSITIVE = ["authorization", "cookie", "proxy-authorization", "www-authenticate"];

/** What an exchange needs from the server. */
export interface HttpContext {
  /** The executor's environment, for `valueEnvVar`. */
  env: () => Record<string, string>;
  /** Timers for `timeoutMs`. */
  clock: Clock;
  /** Aborts the exchange (the connection closed). */
  signal: AbortSignal;
}

/** A response whose headers have arrived; its body is read through {@linkcode HttpExchange.body}. */
export interface HttpExchange {
  /** The status code. */
  readonly status: number;
  /** Response headers: names lowercased, wire order, repeats kept. */
  readonly headers: HttpResponseHeader[];
  /**
   * The (decoded) body, piece by piece, as the socket delivers it. Throws
   * {@linkcode BodyError} when the body fails, the deadline passes or the
   * exchange is closed.
   */
  body(): AsyncGenerator<Uint8Array>;
  /** Ends the exchange at once (idempotent); the deadline's timer goes with it. */
  close(): void;
}

/** The body of a response failed after its headers arrived. */
export class BodyError extends Error {
  /** Creates it with the cause's text. */
  constructor(cause: string) {
    super(`error decoding response body: ${cause}`);
    this.name = "BodyError";
  }
}

/**
 * A request header: lowercased name, value, and whether the value holds an
 * executor environment variable (`valueEnvVar`), which never leaves the
 * origin the caller named.
 */
type Header = [name: string, value: string, fromEnv?: true];

/** A validated request: what goes on the wire. */
interface Plan {
  method: string;
  url: URL;
  headers: Header[];
  body: Uint8Array | null;
}

/**
 * Checks `params` as codex does (-32602 with its messages) and builds the
 * first request: caller headers lowercased and in order, `valueEnvVar`s
 * resolved, then `accept`, `accept-encoding`, `host` and `content-length`
 * where the caller set none.
 */
export function planRequest(params: HttpRequestParams, env: Record<string, string>): Plan {
  if (!TOKEN.test(params.method)) {
    throw invalidParams("http/request method is invalid: invalid HTTP method");
  }
  let url: URL;
  try {
    url = new URL(params.url);
  } catch {
    throw invalidParams(
      `http/request url is invalid: ${
        /^[a-z][a-z0-9+.-]*:/i.test(params.url) ? "invalid URL" : "relative URL without a base"
      }`,
    );
  }
  const scheme = url.protocol.slice(0, -1);
  if (scheme !== "http" && scheme !== "https") {
    throw invalidParams(`http/request only supports http and https URLs, got ${scheme}`);
  }
  url.hash = "";
  const headers: Header[] = [];
  for (const h of params.headers ?? []) {
    if (!TOKEN.test(h.name)) {
      throw invalidParams("http/request header name is invalid: invalid HTTP header name");
    }
    let value = h.value;
    if (h.valueEnvVar !== null && h.valueEnvVar !== undefined) {
      const extra = Object.hasOwn(env, h.valueEnvVar) ? env[h.valueEnvVar] : undefined;
      if (extra === undefined || h.valueEnvVar === "") {
        throw invalidParams(
          `http/request header ${h.name} requires executor environment variable ${h.valueEnvVar}`,
        );
      }
      if (extra === "") {
        throw invalidParams(
          `http/request header ${h.name} requires a non-empty executor environment variable ${h.valueEnvVar}`,
        );
      }
      value += extra;
    }
    if (!FIELD_VALUE.test(value)) {
      throw invalidParams(
        `http/request header value is invalid for ${h.name}: failed to parse header value`,
      );
    }
    const name = h.name.toLowerCase();
    headers.push(h.valueEnvVar ? [name, value, true] : [name, value]);
  }
  let body: Uint8Array | null = null;
  if (params.bodyBase64) {
    try {
      body = Uint8Array.fromBase64(params.bodyBase64);
    } catch (err) {
      throw invalidParams(`http/request bodyBase64 is not valid base64: ${messageOf(err)}`);
    }
    if (body.byteLength === 0) body = null;
  }
  const has = (name: string) => headers.some(([n]) => n === name);
  if (!has("accept")) headers.push(["accept", "*/*"]);
  if (!has("accept-encoding")) headers.push(["accept-encoding", ACCEPT_ENCODING]);
  if (!has("host")) headers.push(["host", url.host]);
  if (body && !has("content-length")) headers.push(["content-length", String(body.byteLength)]);
  return { method: params.method, url, headers, body };
}

/**
 * Makes the request of `params` and resolves once the final response's
 * headers are in (redirects followed unless `redirectPolicy: "stop"`).
 * Failures before that are -32603 `http/request failed: …`.
 */
export async function openExchange(
  params: HttpRequestParams,
  ctx: HttpContext,
): Promise<HttpExchange> {
  let plan = planRequest(params, ctx.env());
  const timeoutMs = params.timeoutMs ?? null;
  if (timeoutMs === 0) throw internalError("http/request failed: timed out (timeoutMs is 0)");
  const deadline = new AbortController();
  const onAbort = () => deadline.abort(new Error("the connection closed"));
  if (ctx.signal.aborted) onAbort();
  ctx.signal.addEventListener("abort", onAbort, { once: true });
  const cancelTimer = timeoutMs === null ? () => {} : ctx.clock.setTimer(
    () => deadline.abort(new Error(`timed out after ${timeoutMs} ms`)),
    timeoutMs,
  );
  const release = () => {
    cancelTimer();
    ctx.signal.removeEventListener("abort", onAbort);
  };
  try {
    for (let redirects = 0;; redirects++) {
      const res = await send(plan, deadline.signal);
      const status = res.statusCode ?? 0;
      const location = res.headers.location;
      const follow = params.redirectPolicy !== "stop" && REDIRECTS.has(status) &&
        typeof location === "string";
      if (!follow) return exchange(res, plan.method, deadline.signal, release);
      res.destroy();
      if (redirects >= MAX_REDIRECTS) {
        throw internalError("http/request failed: too many redirects");
      }
      plan = redirected(plan, status, location);
    }
  } catch (err) {
    release();
    throw err;
  }
}

/** The next hop of a redirect, as reqwest makes it. */
function redirected(plan: Plan, status: number, location: string): Plan {
  let next: URL;
  try {
    next = new URL(location, plan.url);
  } catch {
    throw internalError(`http/request failed: redirect location is invalid: ${location}`);
  }
  const scheme = next.protocol.slice(0, -1);
  if (scheme !== "http" && scheme !== "https") {
    throw internalError(
      `http/request failed: redirect target uses unsupported URL scheme: ${scheme}`,
    );
  }
  next.hash = "";
  let { method, body } = plan;
  let headers = plan.headers.filter(([n]) => n !== "host" && n !== "referer");
  // As codex 0.171 (measured): 301 and 302 turn only a POST into a GET; 303
  // turns everything but a HEAD into a GET, and drops the body of both. The
  // method is compared as sent: `post` is not POST.
  const toGet = status === 303 || ((status === 301 || status === 302) && method === "POST");
  if (toGet) {
    body = null;
    const dropped = ["transfer-encoding", "content-encoding", "content-type", "content-length"];
    headers = headers.filter(([n]) => !dropped.includes(n));
    if (method !== "HEAD") method = "GET";
  }
  if (next.origin !== plan.url.origin) {
    // Credentials stay with the origin they were meant for: the usual ones,
    // and any header carrying an executor environment variable.
    headers = headers.filter(([n, , fromEnv]) => !fromEnv && !SENSITIVE.includes(n));
  }
  headers.push(["host", next.host]);
  if (!(plan.url.protocol === "https:" && next.protocol === "http:")) {
    // Another origin learns only where the request came from, not its path
    // and query (which may hold a token), as with codex 0.171.
    const referer = new URL(plan.url);
    referer.username = "";
    referer.password = "";
    headers.push([
      "referer",
      next.origin === plan.url.origin ? referer.href : `${referer.origin}/`,
    ]);
  }
  return { method, url: next, headers, body };
}

/** Header values as Node writes them: latin1, so UTF-8 text goes out as its bytes. */
function wireValue(value: string): string {
  // deno-lint-ignore no-control-regex
  if (/^[\x00-\x7f]*$/.test(value)) return value;
  let out = "";
  for (const byte of new TextEncoder().encode(value)) out += String.fromCharCode(byte);
  return out;
}

/** Sends one request; resolves with the response head. */
function send(plan: Plan, signal: AbortSignal): Promise<http.IncomingMessage> {
  const { url } = plan;
  const failed = (cause: string) =>
    internalError(`http/request failed: error sending request for url (${url.href}): ${cause}`);
  if (signal.aborted) return Promise.reject(failed(messageOf(signal.reason)));
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of plan.headers) {
    const prev = headers[name];
    const v = wireValue(value);
    headers[name] = prev === undefined ? v : [...(Array.isArray(prev) ? prev : [prev]), v];
  }
  return new Promise((resolve, reject) => {
    const client = url.protocol === "https:" ? https : http;
    let req: http.ClientRequest;
    try {
      req = client.request(url, { method: plan.method, headers, agent: false });
      // Node uppercases the method; codex sends it as given (`get` is not
      // GET to a server), and so do we: the request line is written from
      // this property when the request ends.
      if (req.method !== plan.method) (req as { method: string }).method = plan.method;
    } catch (err) {
      reject(failed(messageOf(err)));
      return;
    }
    // Send only the headers planned: no Connection, Transfer-Encoding or
    // Content-Length of Node's own.
    req.removeHeader("connection");
    req.removeHeader("transfer-encoding");
    if (!plan.body && !Object.hasOwn(headers, "content-length")) req.removeHeader("content-length");
    const abort = () =>
      req.destroy(signal.reason instanceof Error ? signal.reason : new Error("aborted"));
    signal.addEventListener("abort", abort, { once: true });
    req.on("response", (res) => {
      signal.removeEventListener("abort", abort);
      resolve(res);
    });
    req.on("error", (err) => {
      signal.removeEventListener("abort", abort);
      reject(failed(messageOf(err)));
    });
    req.end(plan.body ?? undefined);
  });
}

/** The response headers a client gets: lowercased, in order, visible ASCII only. */
function responseHeaders(raw: string[], decoded: boolean): HttpResponseHeader[] {
  const out: HttpResponseHeader[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    const value = raw[i + 1]!;
    if (decoded && (name === "content-encoding" || name === "content-length")) continue;
    if (VISIBLE_VALUE.test(value)) out.push({ name, value });
  }
  return out;
}

/** A decoder for a `content-encoding`, or null to pass the body through. */
function decoderFor(encoding: string | undefined): Readable | null {
  switch (encoding?.trim().toLowerCase()) {
    case "gzip":
    case "x-gzip":
      return zlib.createGunzip();
    case "deflate":
      return zlib.createInflate();
    case "br":
      return zlib.createBrotliDecompress();
    case "zstd":
      return zlib.createZstdDecompress();
    default:
      return null;
  }
}

function exchange(
  res: http.IncomingMessage,
  method: string,
  signal: AbortSignal,
  release: () => void,
): HttpExchange {
  const empty = method === "HEAD" || res.statusCode === 204 || res.statusCode === 304;
  const decoder = empty ? null : decoderFor(res.headers["content-encoding"]);
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    release();
    res.destroy();
    decoder?.destroy();
  };
  const source: Readable = decoder ? res.pipe(decoder as NodeJS.WritableStream & Readable) : res;
  if (decoder) res.on("error", (err) => decoder.destroy(err));
  // A response that ends before its length is a failure, not a short body.
  res.on("aborted", () => source.destroy(new Error("the connection closed before the body ended")));
  return {
    status: res.statusCode ?? 0,
    headers: responseHeaders(res.rawHeaders, decoder !== null),
    close,
    async *body() {
      const abort = () =>
        source.destroy(signal.reason instanceof Error ? signal.reason : undefined);
      signal.addEventListener("abort", abort, { once: true });
      try {
        if (signal.aborted) throw new BodyError(messageOf(signal.reason));
        for await (const chunk of source) {
          if (signal.aborted) throw new BodyError(messageOf(signal.reason));
          yield chunk instanceof Uint8Array ? chunk : new TextEncoder().encode(String(chunk));
        }
        if (signal.aborted) throw new BodyError(messageOf(signal.reason));
        if (!res.complete) throw new BodyError("the connection closed before the body ended");
      } catch (err) {
        if (err instanceof BodyError) throw err;
        throw new BodyError(signal.aborted ? messageOf(signal.reason) : messageOf(err));
      } finally {
        signal.removeEventListener("abort", abort);
        close();
      }
    },
  };
}
