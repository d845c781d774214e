// Copyright 2026 the exec-server authors. MIT license.
/**
 * Request handlers for every method after `initialize`, keyed by the method
 * table. Runtime-neutral: spawning and the base environment are injected.
 *
 * @module
 */
import { SIGNALS, type Spawner } from "../process/child.ts";
import { childEnv } from "./env_policy.ts";
import { messageOf } from "../util/errors.ts";
import { base64ByteLength } from "../util/bytes.ts";
import {
  ErrorKind,
  type ErrorKindValue,
  internalError,
  invalidParams,
  invalidRequest,
  kindError,
  RpcError,
} from "../protocol/errors.ts";
import type { Logger } from "../util/logger.ts";
import type { EnvironmentInfo } from "../protocol/environment.ts";
import type { MethodName, ParsedParamsOf, ResultOf } from "../protocol/methods.ts";
import { toNativePath } from "../fs/paths.ts";
import type { Session, SessionRegistry } from "./session.ts";
import type { PROCESS_METHODS } from "../protocol/process.ts";
import type { ManagedProcess } from "./managed_process.ts";
import { type PreparedStart, SandboxError, type SandboxService } from "../sandbox/mod.ts";

/** Everything handlers need from the server. */
export interface ServerContext {
  /** All sessions. */
  registry: SessionRegistry;
  /** Starts a child (pipes or terminal, by `options.tty`). */
  spawn: Spawner;
  /** Enforces sandbox profiles (turns a sandboxed start into a bwrap command line). */
  sandbox: SandboxService;
  /** The server's own environment (for `envPolicy`). */
  baseEnv: () => Record<string, string>;
  /** Largest message either side may send, in bytes. */
  maxMessageBytes: number;
  /** Logger (never given env values, tokens or file contents). */
  log: Logger;
  /** The executor's facts for `initialize` and `environment/info`. */
  environmentInfo: () => EnvironmentInfo;
}

/**
 * The caller's connection, for work that belongs to it rather than to the
 * session (a streamed HTTP body ends with the connection, as in codex).
 */
export interface ConnectionScope {
  /** Aborts when the connection closes or its session is resumed elsewhere. */
  readonly signal: AbortSignal;
  /** Sends a notification on this connection (dropped once it is closed). */
  notify(method: string, params: unknown): void;
  /** A promise while the peer is congested (stop producing), else undefined. */
  congested(): Promise<void> | undefined;
}

/** Per-call context. */
export interface CallContext {
  /** The caller's session. */
  session: Session;
  /** Aborts when the caller's connection is evicted by a resume. */
  signal: AbortSignal;
  /** Server-wide services. */
  server: ServerContext;
  /** The caller's connection. */
  connection: ConnectionScope;
  /**
   * Runs `fn` once this call's response has been sent (or dropped because
   * the connection closed), so that notifications a call starts, such as a
   * streamed body, come after its response.
   */
  afterResponse(fn: () => void): void;
}

/** A handler for method `M`. */
export type Handler<M extends MethodName> = (
  params: ParsedParamsOf<M>,
  ctx: CallContext,
) => Promise<ResultOf<M>>;

/** Process method names. */
export type ProcessMethodName = keyof typeof PROCESS_METHODS;

/** Handlers for every method but `initialize` (which the connection owns). */
export type HandlerTable = {
  [M in Exclude<MethodName, "initialize">]: Handler<M>;
};

function requireProcess(session: Session, id: string): ManagedProcess {
  const proc = session.process(id);
  if (!proc) throw invalidRequest(`unknown process id ${id}`);
  return proc;
}

function decodeBase64(field: string, value: string): Uint8Array {
  try {
    return Uint8Array.fromBase64(value);
  } catch {
    throw invalidParams(`${field} must be valid base64`);
  }
}

/**
 * Refuses what a codex 0.171 start may ask for but this server cannot do: a
 * managed network, a shell snapshot. Each changes what the process may do or
 * sees, so running without it is never silent. (Sandbox profiles are
 * enforced: see lib/sandbox.)
 */
function refuseUnsupported(params: ParsedParamsOf<"process/start">): void {
  const network = params.enforceManagedNetwork === true
    ? "enforceManagedNetwork"
    : params.managedNetwork !== null && params.managedNetwork !== undefined
    ? "managedNetwork"
    : params.networkProxy !== null && params.networkProxy !== undefined
    ? "networkProxy"
    : null;
  if (network !== null) {
    throw kindError(
      ErrorKind.SandboxUnavailable,
      `this server has no managed network (${network}): refusing to start the process ` +
        "with unrestricted network access",
    );
  }
  if (params.shellSnapshot !== null && params.shellSnapshot !== undefined) {
    throw invalidParams(
      "shellSnapshot is not supported by this server (its shellSnapshotV2 capability is false)",
    );
  }
}

/**
 * The `data.kind` of a failed start, as codex 0.171 reports it, from the
 * error a spawner threw: its errno (the "(os error N)" every backend puts in
 * the message) or its name. A missing program, interpreter or cwd is
 * `spawnNotFound`; a file or directory the server's user may not execute or
 * search, `spawnPermissionDenied`; anything else (ENOEXEC, a cwd that is not
 * a directory, no terminal support) `spawnFailed`.
 *
 * @example
 * ```ts
 * import { spawnErrorKind } from "./process_handlers.ts";
 * import assert from "node:assert/strict";
 * assert.equal(spawnErrorKind(new Error("No such file or directory (os error 2): x")), "spawnNotFound");
 * assert.equal(spawnErrorKind(new Error("Exec format error (os error 8): x")), "spawnFailed");
 * ```
 */
export function spawnErrorKind(err: unknown): ErrorKindValue {
  const name = err instanceof Error ? err.name : "";
  const errno = Number(/\(os error (\d+)\)/.exec(messageOf(err))?.[1] ?? NaN);
  if (name === "NotFound" || errno === 2) return ErrorKind.SpawnNotFound;
  if (name === "PermissionDenied" || errno === 13 || errno === 1) {
    return ErrorKind.SpawnPermissionDenied;
  }
  return ErrorKind.SpawnFailed;
}

/** Read responses stay well inside the message limit (base64 grows 4/3). */
function readBudget(
  ctx: CallContext,
  requested: number | null | undefined,
): number {
  const cap = Math.max(
    64 * 1024,
    Math.floor((ctx.server.maxMessageBytes * 3) / 4) - 64 * 1024,
  );
  return Math.min(requested ?? Infinity, cap);
}

/** The process method handlers. */
export const PROCESS_HANDLERS: { [M in ProcessMethodName]: Handler<M> } = {
  async "process/start"(params, ctx) {
    const cwd = toNativePath(params.cwd, "cwd");
    refuseUnsupported(params);
    if (params.argv[0] === "") {
      throw kindError(ErrorKind.SpawnFailed, "missing program: argv[0] is empty");
    }
    const { session, server } = ctx;
    const proc = session.reserve({
      processId: params.processId,
      argv: params.argv,
      tty: params.tty,
      pipeStdin: params.pipeStdin ?? false,
      timeoutMs: params.timeoutMs ?? null,
    });
    let prepared: PreparedStart | null = null;
    // Nothing about the process goes out before this call's response: the
    // FFI reactor's reads can complete between any two microtasks.
    proc.hold();
    try {
      const env = childEnv(
        params.env,
        params.envPolicy,
        params.envPolicy ? server.baseEnv() : {},
      );
      prepared = await server.sandbox.prepareStart({
        sandbox: params.sandbox,
        argv: params.argv,
        arg0: params.arg0 ?? null,
        cwd,
        env,
        tty: params.tty,
      });
      if (prepared.sandboxType !== "none") proc.sandboxed();
      const child = prepared.adopt(
        await server.spawn({
          argv: prepared.argv,
          arg0: prepared.arg0,
          cwd: prepared.cwd,
          env: prepared.env,
          tty: params.tty,
          pipeStdin: params.pipeStdin ?? false,
          size: params.size ?? { rows: 24, cols: 80 },
        }, prepared.sink(proc.sink)),
      );
      if (session.closed) {
        if (child.release) child.release();
        else child.signal("SIGKILL");
        throw invalidRequest(
          "session was closed while the process was starting",
        );
      }
      proc.attach(child);
      ctx.afterResponse(() => proc.announce());
    } catch (err) {
      session.release(proc);
      await prepared?.release();
      if (err instanceof RpcError) throw err;
      if (err instanceof SandboxError) throw kindError(err.kind, err.message);
      throw kindError(spawnErrorKind(err), messageOf(err));
    }
    const call = params.metadata?.toolCallId;
    server.log.debug(
      `session ${session.id}: started process ${params.processId}` +
        (call ? ` for tool call ${JSON.stringify(call.slice(0, 100))}` : ""),
    );
    return { processId: params.processId, sandboxType: prepared.sandboxType };
  },

  async "process/read"(params, ctx) {
    const proc = requireProcess(ctx.session, params.processId);
    if (proc.starting) {
      throw invalidRequest(`process id ${params.processId} is starting`);
    }
    return await proc.read(
      params.afterSeq ?? 0,
      readBudget(ctx, params.maxBytes),
      params.waitMs ?? 0,
      ctx.signal,
    );
  },

  async "process/write"(params, ctx) {
    const proc = ctx.session.process(params.processId);
    // A write with no room is refused before its base64 is decoded: a flood of
    // big writes to a process that does not read costs no decoded copies.
    proc?.refuseEarly(() => base64ByteLength(params.chunk), params.writeId);
    const data = decodeBase64("chunk", params.chunk);
    if (!proc) return { status: "unknownProcess" };
    return { status: await proc.write(data, params.writeId) };
  },

  async "process/closeStdin"(params, ctx) {
    const proc = ctx.session.process(params.processId);
    if (!proc) return { status: "unknownProcess" };
    return { status: await proc.closeStdin() };
  },

  // deno-lint-ignore require-await
  async "process/terminate"(params, ctx) {
    const proc = ctx.session.process(params.processId);
    return { running: proc ? proc.terminate() : false };
  },

  // deno-lint-ignore require-await
  async "process/resize"(params, ctx) {
    const proc = requireProcess(ctx.session, params.processId);
    if (!proc.spec.tty) {
      throw invalidRequest(
        `process ${params.processId} is not a terminal: resize needs a process started with tty:true`,
      );
    }
    if (proc.running) proc.resize(params.rows, params.cols);
    return {};
  },

  // deno-lint-ignore require-await
  async "process/signal"(params, ctx) {
    const proc = ctx.session.process(params.processId);
    try {
      proc?.signal(SIGNALS[params.signal]);
    } catch (err) {
      throw internalError(`failed to signal process: ${messageOf(err)}`);
    }
    return {};
  },

  // deno-lint-ignore require-await
  async ping() {
    return {};
  },

  // deno-lint-ignore require-await
  async "process/list"(_params, ctx) {
    return { processes: ctx.session.processes().map((p) => p.info()) };
  },
};
