// Copyright 2026 the exec-server authors. MIT license.
/**
 * Error classes of the client library. Errors made up locally (the transport
 * is gone, a call timed out, the server broke the protocol) are distinct from
 * {@linkcode ExecServerError}, which carries an error the server sent.
 *
 * @module
 */

/** Prefix of every disconnect message, as codex's client words it. */
export const DISCONNECTED = "exec-server transport disconnected";

/**
 * The transport to the server is gone (or could not be established) and the
 * call cannot complete. Made up by the client; the server sent nothing.
 *
 * @example Telling a lost connection from a server error
 * ```ts
 * import { ConnectionClosedError, ExecServerError } from "./errors.ts";
 * import assert from "node:assert/strict";
 * const err: unknown = new ConnectionClosedError("exec-server transport disconnected");
 * assert.ok(err instanceof ConnectionClosedError);
 * assert.ok(!(err instanceof ExecServerError));
 * ```
 */
export class ConnectionClosedError extends Error {
  /** Creates the error; `message` usually starts with "exec-server transport disconnected". */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ConnectionClosedError";
  }
}

/**
 * A call that is not safe to repeat (start, write, terminate, fs writes, …)
 * was in flight when the connection dropped. The client resumed the session
 * but did not send the call again: whether the server ran it is unknown.
 *
 * @example
 * ```ts
 * import { CallInterruptedError, ConnectionClosedError } from "./errors.ts";
 * import assert from "node:assert/strict";
 * const err = new CallInterruptedError("process/write", "exec-server transport disconnected");
 * assert.ok(err instanceof ConnectionClosedError);
 * assert.equal(err.method, "process/write");
 * ```
 */
export class CallInterruptedError extends ConnectionClosedError {
  /** The method that was in flight. */
  readonly method: string;

  /** Creates the error for `method`, given the disconnect message. */
  constructor(method: string, disconnect: string, options?: ErrorOptions) {
    super(
      `${disconnect}; ${method} was in flight and is not retried because it is not idempotent`,
      options,
    );
    this.name = "CallInterruptedError";
    this.method = method;
  }
}

/**
 * An error response the server sent: `{code, message, data?}`.
 *
 * @example Checking the code
 * ```ts
 * import { ExecServerError } from "./errors.ts";
 * import assert from "node:assert/strict";
 * const err = new ExecServerError(-32600, "unknown process id p1");
 * assert.equal(err.code, -32600);
 * ```
 */
export class ExecServerError extends Error {
  /** The JSON-RPC error code. */
  readonly code: number;
  /** `error.data`, when the server sent one. */
  readonly data: unknown;

  /** Creates the error from the wire fields. */
  constructor(code: number, message: string, data?: unknown) {
    super(message);
    this.name = "ExecServerError";
    this.code = code;
    this.data = data;
  }
}

/**
 * The server sent something the protocol does not allow: a result of the
 * wrong shape, a different session on resume, an inconsistent read.
 *
 * @example
 * ```ts
 * import { ProtocolError } from "./errors.ts";
 * import assert from "node:assert/strict";
 * const err = new ProtocolError("Cannot decode process/read result: nextSeq: expected number");
 * assert.equal(err.name, "ProtocolError");
 * ```
 */
export class ProtocolError extends Error {
  /** Creates the error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ProtocolError";
  }
}

/**
 * A call got no response within its timeout. The call may still run on the
 * server; a late response is ignored.
 *
 * @example
 * ```ts
 * import { RequestTimeoutError } from "./errors.ts";
 * import assert from "node:assert/strict";
 * const err = new RequestTimeoutError("fs/readFile", 1000);
 * assert.equal(err.timeoutMs, 1000);
 * ```
 */
export class RequestTimeoutError extends Error {
  /** The method that timed out. */
  readonly method: string;
  /** The timeout that elapsed, in ms. */
  readonly timeoutMs: number;

  /** Creates the error. */
  constructor(method: string, timeoutMs: number) {
    super(`Cannot complete ${method}: no response within ${timeoutMs} ms`);
    this.name = "RequestTimeoutError";
    this.method = method;
    this.timeoutMs = timeoutMs;
  }
}
