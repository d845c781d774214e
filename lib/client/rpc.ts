// Copyright 2026 the exec-server authors. MIT license.
/**
 * The client's request bookkeeping: integer ids from 1, responses matched by
 * id in any order, result validation against the shared method table,
 * timeouts, and what happens to calls when the transport drops (reads are
 * queued to be sent again after a resume; everything else fails).
 *
 * @module
 */
import type { z } from "npm:zod@^4.1.0";
import {
  CallInterruptedError,
  ConnectionClosedError,
  ExecServerError,
  ProtocolError,
  RequestTimeoutError,
} from "./errors.ts";
import type { ClientTransport } from "./transport.ts";
import { type MethodName, METHODS, type ParamsOf, type ResultOf } from "../protocol/methods.ts";

/**
 * Per-call options, accepted by every call.
 *
 * @example
 * ```ts ignore
 * const meta = await client.fs.getMetadata("/data", {
 *   requestTimeoutMs: 2000,
 *   signal: AbortSignal.timeout(5000),
 * });
 * ```
 */
export interface CallOptions {
  /** Aborts the call (it rejects with the signal's reason). @default {undefined} */
  signal?: AbortSignal;
  /**
   * Rejects with {@linkcode RequestTimeoutError} after this many ms without a
   * response (`process/read` adds its `waitMs`); 0 means no timeout. This is
   * the time the client waits for this one response, never a limit on a
   * process: a process's own limit is `timeoutMs` of `client.start`.
   * @default {the client's requestTimeoutMs}
   */
  requestTimeoutMs?: number;
}

/** Something that can make typed calls (the client). */
export interface Caller {
  /** Calls `method` with `params` and resolves with its validated result. */
  call<M extends MethodName>(
    method: M,
    params: ParamsOf<M>,
    options?: CallOptions,
  ): Promise<ResultOf<M>>;
}

/**
 * Methods that only read, so they are sent again after a resume if they were
 * in flight when the connection dropped. A `process/write` that carries a
 * `writeId` is replayed too: the server answers a repeated id without writing
 * again. Everything else fails instead, with `CallInterruptedError`.
 *
 * @example
 * ```ts
 * import { REPLAYABLE_METHODS } from "./rpc.ts";
 * import assert from "node:assert/strict";
 * assert.ok(REPLAYABLE_METHODS.has("process/read"));
 * assert.ok(!REPLAYABLE_METHODS.has("process/write"));
 * ```
 */
export const REPLAYABLE_METHODS: ReadonlySet<MethodName> = new Set<MethodName>([
  "process/read",
  "process/list",
  "fs/readFile",
  "fs/getMetadata",
  "fs/readDirectory",
]);

function isIdempotentWrite(p: Pending): boolean {
  return p.method === "process/write" &&
    typeof (p.params as { writeId?: unknown }).writeId === "string";
}

interface Pending {
  id: number;
  method: MethodName;
  params: unknown;
  resolve: (value: unknown) => void;
  reject: (reason: unknown) => void;
  cleanup: () => void;
  /** The transport it was sent on, or null while queued. */
  sentOn: ClientTransport | null;
  /** Bypasses the queue (initialize on a connection still being set up). */
  direct: boolean;
  settled: boolean;
}

/**
 * Pending calls of one client, across reconnections.
 *
 * @example Used by the client; not needed directly
 * ```ts ignore
 * const calls = new RpcCalls(30_000);
 * const result = calls.call("process/list", {}, {}, transport);
 * ```
 */
export class RpcCalls {
  readonly #defaultTimeoutMs: number;
  readonly #sent = new Map<number, Pending>();
  #queued: Pending[] = [];
  #nextId = 1;

  /** Creates the table; `defaultTimeoutMs` 0 disables timeouts. */
  constructor(defaultTimeoutMs: number) {
    this.#defaultTimeoutMs = defaultTimeoutMs;
  }

  /** Number of calls sent and not yet answered. */
  get inFlight(): number {
    return this.#sent.size;
  }

  /**
   * Makes a call: sent now on `transport`, or queued until
   * {@linkcode RpcCalls.flush} when it is null. With `direct`, `transport`
   * must be given and the call never waits in the queue.
   */
  call<M extends MethodName>(
    method: M,
    params: ParamsOf<M>,
    options: CallOptions,
    transport: ClientTransport | null,
    direct = false,
  ): Promise<ResultOf<M>> {
    return new Promise<ResultOf<M>>((resolve, reject) => {
      const signal = options.signal;
      if (signal?.aborted) return reject(signal.reason);
      const pending: Pending = {
        id: 0,
        method,
        params,
        resolve: resolve as (value: unknown) => void,
        reject,
        cleanup: () => {},
        sentOn: null,
        direct,
        settled: false,
      };
      let timeout = options.requestTimeoutMs ?? this.#defaultTimeoutMs;
      if (timeout > 0 && method === "process/read") {
        timeout += (params as ParamsOf<"process/read">).waitMs ?? 0;
      }
      const timer = timeout > 0
        ? setTimeout(() => this.#settle(pending, new RequestTimeoutError(method, timeout)), timeout)
        : undefined;
      const onAbort = () => this.#settle(pending, signal!.reason);
      signal?.addEventListener("abort", onAbort, { once: true });
      pending.cleanup = () => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
      };
      if (transport) this.#send(pending, transport);
      else this.#queued.push(pending);
    });
  }

  /** Sends every queued call on `transport`. */
  flush(transport: ClientTransport): void {
    const queued = this.#queued;
    this.#queued = [];
    for (const p of queued) this.#send(p, transport);
  }

  /** Handles a response message (an object with `id` and `result` or `error`). */
  response(message: { id?: unknown; result?: unknown; error?: unknown }): void {
    const pending = typeof message.id === "number" ? this.#sent.get(message.id) : undefined;
    if (!pending) return; // timed out, aborted, or not ours (id -1)
    if (message.error !== undefined) {
      const e = message.error as { code?: unknown; message?: unknown; data?: unknown };
      this.#settle(
        pending,
        typeof e?.code === "number" && typeof e.message === "string"
          ? new ExecServerError(e.code, e.message, e.data)
          : new ProtocolError(`Cannot decode ${pending.method} error response: malformed error`),
      );
      return;
    }
    const schema: z.ZodType = METHODS[pending.method].result;
    const parsed = schema.safeParse(message.result);
    if (parsed.success) {
      this.#settle(pending, undefined, parsed.data);
    } else {
      const issue = parsed.error.issues[0];
      const path = issue?.path.length ? issue.path.join(".") : "result";
      this.#settle(
        pending,
        new ProtocolError(
          `Cannot decode ${pending.method} result: ${path}: ${issue?.message ?? "invalid"}`,
        ),
      );
    }
  }

  /**
   * `transport` dropped. Direct calls on it fail with `message`. With
   * `resuming`, read-only calls are queued to be sent again and the others
   * fail with {@linkcode CallInterruptedError}; otherwise all fail with
   * {@linkcode ConnectionClosedError}.
   */
  transportLost(transport: ClientTransport, message: string, resuming: boolean): void {
    for (const p of [...this.#sent.values()]) {
      if (p.sentOn !== transport) continue;
      if (p.direct || !resuming) {
        this.#settle(p, new ConnectionClosedError(message));
      } else if (REPLAYABLE_METHODS.has(p.method) || isIdempotentWrite(p)) {
        this.#sent.delete(p.id);
        p.sentOn = null;
        this.#queued.push(p);
      } else {
        this.#settle(p, new CallInterruptedError(p.method, message));
      }
    }
  }

  /** Fails every call, sent or queued, with `error`. */
  failAll(error: Error): void {
    for (const p of [...this.#sent.values(), ...this.#queued]) this.#settle(p, error);
    this.#queued = [];
  }

  #send(pending: Pending, transport: ClientTransport): void {
    pending.id = this.#nextId++;
    pending.sentOn = transport;
    this.#sent.set(pending.id, pending);
    try {
      transport.send(JSON.stringify({
        id: pending.id,
        method: pending.method,
        params: pending.params,
      }));
    } catch (err) {
      // The socket is already closing; its close handler decides the call's fate.
      if (!(err instanceof ConnectionClosedError)) this.#settle(pending, err);
    }
  }

  #settle(pending: Pending, error: unknown, value?: unknown): void {
    if (pending.settled) return;
    pending.settled = true;
    pending.cleanup();
    if (pending.sentOn) this.#sent.delete(pending.id);
    else this.#queued = this.#queued.filter((p) => p !== pending);
    pending.sentOn = null;
    if (error !== undefined) pending.reject(error);
    else pending.resolve(value);
  }
}
