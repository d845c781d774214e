// Copyright 2026 the exec-server authors. MIT license.
/**
 * JSON-RPC error codes and the error class that carries one to the wire.
 *
 * @module
 */

/** Error codes used on the wire (JSON-RPC 2.0 plus codex's additions). */
export const ErrorCode = {
  /** The message is not a valid request, or the request is not allowed now. */
  InvalidRequest: -32600,
  /** No such method. */
  MethodNotFound: -32601,
  /** The params do not match the method's schema. */
  InvalidParams: -32602,
  /** The server failed (spawn failure, I/O error, …). */
  Internal: -32603,
  /** A file or directory does not exist. */
  NotFound: -32004,
  /** The session is attached to another live connection. */
  SessionAttached: -32010,
} as const;

/** One of the {@linkcode ErrorCode} values. */
export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode];

/**
 * An error that becomes a JSON-RPC error response `{code, message, data?}`.
 *
 * @example Throwing one from a handler
 * ```ts
 * import { ErrorCode, RpcError } from "./errors.ts";
 * import assert from "node:assert/strict";
 * const err = new RpcError(ErrorCode.InvalidParams, "argv must not be empty");
 * assert.equal(err.code, -32602);
 * ```
 */
export class RpcError extends Error {
  /** The JSON-RPC error code. */
  readonly code: number;
  /** Optional structured detail sent as `error.data`. */
  readonly data: unknown;

  /** Creates an error with a code, a message and optional data. */
  constructor(code: number, message: string, data?: unknown) {
    super(message);
    this.name = "RpcError";
    this.code = code;
    this.data = data;
  }

  /** The wire form of this error. */
  toJson(): { code: number; message: string; data?: unknown } {
    return this.data === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, data: this.data };
  }
}

/**
 * The `data.kind` codex 0.171 puts on a -32603 error to say what failed, so a
 * client can tell a missing program from a refused sandbox without parsing
 * the message.
 */
export const ErrorKind = {
  /** The program, its interpreter (`#!`) or the cwd does not exist. */
  SpawnNotFound: "spawnNotFound",
  /** The program is not executable, or a directory on its path or the cwd is not searchable. */
  SpawnPermissionDenied: "spawnPermissionDenied",
  /** Any other failure to start (ENOEXEC, cwd not a directory, no terminal, …). */
  SpawnFailed: "spawnFailed",
  /** The request asks for a sandbox or managed network this server cannot enforce here. */
  SandboxUnavailable: "sandboxUnavailable",
  /** The sandbox profile cannot be set up for this start (a path it needs, an entry it cannot enforce). */
  SandboxPreparation: "sandboxPreparation",
} as const;

/** One of the {@linkcode ErrorKind} values. */
export type ErrorKindValue = (typeof ErrorKind)[keyof typeof ErrorKind];

/**
 * A -32603 error carrying `data: {kind}`, as codex reports spawn and sandbox
 * failures.
 *
 * @example
 * ```ts
 * import { ErrorKind, kindError } from "./errors.ts";
 * import assert from "node:assert/strict";
 * const err = kindError(ErrorKind.SpawnNotFound, "No such file or directory (os error 2)");
 * assert.deepEqual(err.toJson(), {
 *   code: -32603,
 *   message: "No such file or directory (os error 2)",
 *   data: { kind: "spawnNotFound" },
 * });
 * ```
 */
export function kindError(kind: ErrorKindValue, message: string): RpcError {
  return new RpcError(ErrorCode.Internal, message, { kind });
}

/** Shorthand for an {@linkcode ErrorCode.InvalidRequest} error. */
export function invalidRequest(message: string): RpcError {
  return new RpcError(ErrorCode.InvalidRequest, message);
}

/** Shorthand for an {@linkcode ErrorCode.InvalidParams} error. */
export function invalidParams(message: string): RpcError {
  return new RpcError(ErrorCode.InvalidParams, message);
}

/** Shorthand for an {@linkcode ErrorCode.Internal} error. */
export function internalError(message: string): RpcError {
  return new RpcError(ErrorCode.Internal, message);
}
