// Copyright 2026 the exec-server authors. MIT license.
/**
 * What a connection makes of one inbound JSON-RPC message before it acts:
 * its kind (request, notification, a response from the client, or invalid,
 * with the error to send), its params checked against the method table's
 * schema, and a handler's failure turned into an {@linkcode RpcError}.
 * Runtime-neutral.
 *
 * @module
 */
import type { z } from "npm:zod@^4.1.0";
import { ErrorCode, invalidParams, invalidRequest, RpcError } from "../protocol/errors.ts";
import { type MethodName, METHODS } from "../protocol/methods.ts";
import type { RequestId } from "../protocol/process.ts";
import type { Logger } from "../util/logger.ts";
import { messageOf } from "../util/errors.ts";

/** An inbound message, sorted. */
export type Inbound =
  | { kind: "request"; id: RequestId; method: string; params: unknown }
  | { kind: "notification"; method: string }
  | { kind: "response" }
  | { kind: "invalid"; id: RequestId; error: RpcError };

/**
 * Sorts a parsed JSON value into a request, a notification, a response
 * (which a client must not send) or an invalid message with the error to
 * answer (under id -1 when the message has no usable id).
 *
 * @example
 * ```ts
 * import { classify } from "./rpc_message.ts";
 * import assert from "node:assert/strict";
 * assert.equal(classify({ id: 1, method: "ping" }).kind, "request");
 * assert.equal(classify({ method: "initialized" }).kind, "notification");
 * assert.equal(classify({ id: 1, result: {} }).kind, "response");
 * const bad = classify([{ id: 1, method: "ping" }]);
 * assert.ok(bad.kind === "invalid" && /batches are not supported/.test(bad.error.message));
 * ```
 */
export function classify(message: unknown): Inbound {
  if (typeof message !== "object" || message === null || Array.isArray(message)) {
    const what = Array.isArray(message)
      ? "a batch (array); batches are not supported"
      : typeof message;
    return invalid(-1, `invalid JSON-RPC message: expected an object, got ${what}`);
  }
  const msg = message as Record<string, unknown>;
  const hasId = Object.hasOwn(msg, "id");
  if (Object.hasOwn(msg, "method")) {
    if (typeof msg.method !== "string") {
      return invalid(
        validId(msg.id) ? msg.id : -1,
        "invalid JSON-RPC message: method must be a string",
      );
    }
    if (!hasId) return { kind: "notification", method: msg.method };
    if (!validId(msg.id)) {
      return invalid(-1, "invalid JSON-RPC request: id must be an integer or a string");
    }
    return { kind: "request", id: msg.id, method: msg.method, params: msg.params };
  }
  if (hasId && (Object.hasOwn(msg, "result") || Object.hasOwn(msg, "error"))) {
    return { kind: "response" };
  }
  return invalid(
    validId(msg.id) ? msg.id : -1,
    "invalid JSON-RPC message: expected a request or a notification",
  );
}

function invalid(id: RequestId, message: string): Inbound {
  return { kind: "invalid", id, error: invalidRequest(message) };
}

function validId(id: unknown): id is RequestId {
  return typeof id === "string" || (typeof id === "number" && Number.isInteger(id));
}

/**
 * A method's params checked against its schema (absent or null params are
 * `{}`); throws the `-32602` error naming the first bad field.
 */
export function parseParams(method: MethodName, raw: unknown): unknown {
  const input = raw === undefined || raw === null ? {} : raw;
  if (typeof input !== "object" || Array.isArray(input)) {
    throw invalidParams(`invalid params for ${method}: params must be an object`);
  }
  const schema: z.ZodType = METHODS[method].params;
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const path = issue && issue.path.length > 0 ? issue.path.join(".") : "params";
  throw invalidParams(`invalid params for ${method}: ${path}: ${issue?.message ?? "invalid"}`);
}

/** A handler's failure as the error to answer: an {@linkcode RpcError} as it is, anything else as a logged -32603. */
export function toRpcError(err: unknown, method: string, log: Logger): RpcError {
  if (err instanceof RpcError) return err;
  log.error(`unexpected error in ${clip(method)}: ${messageOf(err)}`);
  return new RpcError(ErrorCode.Internal, `internal error in ${clip(method)}: ${messageOf(err)}`);
}

/** `s` cut to 100 characters (for logs and error messages quoting the client). */
export function clip(s: string): string {
  return s.length > 100 ? `${s.slice(0, 100)}…` : s;
}

/**
 * UTF-8 byte length of `text` without encoding it (a lone surrogate counts
 * as U+FFFD: 3 bytes).
 *
 * @example
 * ```ts
 * import { utf8Length } from "./rpc_message.ts";
 * import assert from "node:assert/strict";
 * for (const s of ["abc", "é", "字", "😀", "\ud800", "a\udc00b"]) {
 *   assert.equal(utf8Length(s), new TextEncoder().encode(s).byteLength, s);
 * }
 * ```
 */
export function utf8Length(text: string): number {
  let n = text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) n += 1;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n += 2; // a pair: 2 units, 4 bytes
        i++;
      } else n += 2;
    } else n += 2;
  }
  return n;
}
