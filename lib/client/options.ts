// Copyright 2026 the exec-server authors. MIT license.
/**
 * Options and policies of `ExecServerClient`: connect options, the client
 * states, `process/start` defaults, and which failed resume attempts are
 * worth retrying.
 *
 * @module
 */
import { ConnectionClosedError, ExecServerError, RequestTimeoutError } from "./errors.ts";
import type { CallOptions } from "./rpc.ts";
import type { TransportConnector } from "./transport.ts";
import { ErrorCode } from "../protocol/errors.ts";
import type { ParamsOf } from "../protocol/methods.ts";
import { inheritEnv } from "../protocol/process.ts";

/**
 * Options of `ExecServerClient.connect`.
 *
 * @example
 * ```ts
 * import type { ExecServerClientOptions } from "./options.ts";
 * import assert from "node:assert/strict";
 * const options: ExecServerClientOptions = {
 *   url: "wss://build-box:8443",
 *   token: "secret",
 *   requestTimeoutMs: 120_000,
 * };
 * assert.equal(options.autoResume, undefined); // on by default
 * ```
 */
export interface ExecServerClientOptions {
  /** Server URL, `ws://…` or `wss://…`; required unless `transport` is given. */
  url?: string;
  /** Bearer token for a server started with `--token-file`. @default {undefined} */
  token?: string | undefined;
  /** Extra PEM CA certificate(s) to trust for `wss://`. @default {undefined} */
  caCert?: string | undefined;
  /** A custom transport (overrides `url`, `token`, `caCert`). @default {a WebSocket to url} */
  transport?: TransportConnector;
  /** `clientName` sent in `initialize`. @default {"exec-server-client"} */
  clientName?: string;
  /** Limit for opening the transport plus `initialize`, per attempt, in ms. @default {10000} */
  connectTimeoutMs?: number;
  /** Default per-call timeout in ms (`process/read` adds its `waitMs`); 0 for none. @default {60000} */
  requestTimeoutMs?: number;
  /** Resume the session after a dropped connection. @default {true} */
  autoResume?: boolean;
  /** How long to keep trying to resume, in ms (the server keeps a detached session 30 s). @default {25000} */
  resumeWindowMs?: number;
  /** Ask for process output as binary frames instead of base64 JSON. @default {true} */
  binaryOutput?: boolean;
  /** Forward gap in pushed events tolerated before reading to fill it. @default {256} */
  maxReorderGap?: number;
  /**
   * Bytes of unread events one process handle keeps (each event counts 256
   * bytes besides its data); past it the oldest unread output is dropped and
   * reported as a `gap` event. @default {16777216}
   */
  maxBufferedBytes?: number;
  /**
   * When nothing has arrived for this long, send a `ping`; no answer within
   * the same time means the link is dead (a half-open TCP connection sends no
   * FIN or RST), so the client drops it and resumes. 0 turns it off.
   * @default {15000}
   */
  keepaliveMs?: number;
  /**
   * Attach to this detached session (its processes, their output) instead
   * of starting a new one; the connect fails if the server no longer has it.
   * @default {undefined}
   */
  resumeSessionId?: string;
  /**
   * Called on every state change; `detail` says why for `resuming` (the
   * disconnect) and `failed` (the failure).
   * @default {undefined}
   */
  onStateChange?: (state: ClientState, detail?: string) => void;
}

/**
 * Connection state of a client: `connecting` → `connected` → `resuming` →
 * `connected` | `failed`; `closed` after `close()`.
 *
 * @example
 * ```ts
 * import type { ClientState } from "./options.ts";
 * import assert from "node:assert/strict";
 * const usable = (s: ClientState) => s === "connected" || s === "resuming";
 * assert.ok(!usable("failed"));
 * ```
 */
export type ClientState = "connecting" | "connected" | "resuming" | "failed" | "closed";

/**
 * Options of `ExecServerClient.start`: the `process/start` params, with
 * defaults for `processId` (a random UUID), `cwd` (`"/"`), `tty` (false) and
 * `env`. Without `env` and `envPolicy` the process inherits the server's
 * environment; with `env` alone it gets exactly `env`. Plus call options.
 *
 * Two timeouts, never confused:
 * - `timeoutMs` is the **process** timeout, sent to the server: after that
 *   many ms the server terminates the process tree and `exited` reports
 *   `timedOut: true`. It holds while the client is disconnected.
 * - `requestTimeoutMs` bounds only the wait for the `process/start`
 *   response (default: the client's `requestTimeoutMs`).
 *
 * @example
 * ```ts
 * import { startParams, type StartOptions } from "./options.ts";
 * import assert from "node:assert/strict";
 * const options: StartOptions = {
 *   argv: ["make", "-j4"],
 *   cwd: "/src",
 *   timeoutMs: 600_000, // the build may run 10 minutes
 *   requestTimeoutMs: 5_000, // the server must answer the start within 5 s
 * };
 * const [params, call] = startParams(options);
 * assert.equal(params.timeoutMs, 600_000);
 * assert.deepEqual(call, { requestTimeoutMs: 5_000 });
 * ```
 */
export type StartOptions =
  & Omit<ParamsOf<"process/start">, "processId" | "cwd" | "env" | "tty">
  & Partial<Pick<ParamsOf<"process/start">, "processId" | "cwd" | "env" | "tty">>
  & CallOptions;

/**
 * Splits start options into `process/start` params (defaults applied) and
 * call options.
 *
 * @example
 * ```ts
 * import { startParams } from "./options.ts";
 * import assert from "node:assert/strict";
 * const [params, call] = startParams({ argv: ["ls"], env: { PATH: "/bin" }, timeoutMs: 1000 });
 * assert.equal(params.cwd, "/");
 * assert.equal(params.envPolicy, undefined);
 * assert.equal(params.timeoutMs, 1000);
 * assert.deepEqual(call, {});
 * ```
 */
export function startParams(options: StartOptions): [ParamsOf<"process/start">, CallOptions] {
  const { signal, requestTimeoutMs, processId, cwd, env, tty, ...rest } = options;
  const params: ParamsOf<"process/start"> = {
    ...rest,
    processId: processId ?? crypto.randomUUID(),
    cwd: cwd ?? "/",
    env: env ?? {},
    tty: tty ?? false,
  };
  if (env === undefined && rest.envPolicy === undefined) params.envPolicy = inheritEnv();
  const call: CallOptions = {};
  if (signal) call.signal = signal;
  if (requestTimeoutMs !== undefined) call.requestTimeoutMs = requestTimeoutMs;
  return [params, call];
}

/**
 * Whether a failed resume attempt may be retried inside the window: transport
 * errors, timeouts, and -32010 (the server has not noticed the old connection
 * drop yet; -32600 "already attached" before codex's era C). Not "unknown
 * session id": the session is gone.
 *
 * @example
 * ```ts
 * import { isRetryableResume } from "./options.ts";
 * import { ExecServerError } from "./errors.ts";
 * import assert from "node:assert/strict";
 * assert.ok(isRetryableResume(new ExecServerError(-32010, "session s is already attached")));
 * assert.ok(!isRetryableResume(new ExecServerError(-32600, "unknown session id s")));
 * ```
 */
export function isRetryableResume(err: unknown): boolean {
  if (err instanceof ConnectionClosedError || err instanceof RequestTimeoutError) return true;
  if (!(err instanceof ExecServerError)) return false;
  return err.code === ErrorCode.SessionAttached ||
    (err.code === ErrorCode.InvalidRequest && /already attached/.test(err.message));
}
