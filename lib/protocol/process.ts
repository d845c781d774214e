// Copyright 2026 the exec-server authors. MIT license.
/**
 * Wire schemas of the exec-server protocol (codex-compatible), and the single
 * method table both the server and the client are built from.
 *
 * Schemas are the source of truth: every wire type is `z.infer` of one.
 * Unknown fields are accepted and dropped, as codex's serde decoding does.
 *
 * @module
 */
import { z } from "npm:zod@^4.1.0";
import type {
  ClosedNotification,
  EnvPolicy,
  ExitedNotification,
  Gap,
  InitializeParams,
  InitializeResult,
  OutputChunk,
  OutputNotification,
  ProcessInfo,
  ProcessReadParams,
  ProcessReadResult,
  ProcessStartParams,
  ProcessWriteParams,
  RequestId,
  Stream,
  WriteStatus,
} from "./wire.ts";
import { EnvironmentInfoSchema } from "./environment.ts";
import { FileSystemSandboxContextSchema, SandboxTypeSchema } from "./sandbox.ts";

// -- Shared pieces --

/** A JSON-RPC request id: an integer or a string. */
export const RequestIdSchema = z.union([z.int(), z.string()]);
/** A JSON-RPC request id. */
export type { RequestId };

// Well-formed: a lone surrogate has no UTF-8 form, so binary output frames
// would carry it as U+FFFD and ids that differ only there would collide.
const processId = z.string().min(1, "processId must not be empty").max(
  1024,
  "processId must be at most 1024 characters",
).refine(
  // With the u flag a surrogate pair is one code point, so \p{Cs} matches only a
  // lone surrogate (String.prototype.isWellFormed is ES2024, past the npm
  // package's TypeScript target).
  (id) => !/\p{Cs}/u.test(id),
  "processId must be well-formed Unicode (no lone surrogates)",
);
const seq = z.int().nonnegative();
const u64 = z.int().nonnegative();

/** Output stream names. */
export const StreamSchema = z.enum(["stdout", "stderr", "pty"]);
/** An output stream name. */
export type { Stream };

/** Terminal size. */
export const TerminalSizeSchema = z.object({
  rows: z.int().min(1).max(65535),
  cols: z.int().min(1).max(65535),
});

// -- Lifecycle --

/** Capabilities a client may ask for in `initialize`. */
export const ClientCapabilitiesSchema = z.object({
  /** Process output as binary WebSocket frames instead of base64 JSON. */
  binaryOutput: z.boolean().optional(),
});

/** `initialize` params. */
export const InitializeParamsSchema = z.object({
  clientName: z.string(),
  resumeSessionId: z.string().nullish(),
  capabilities: ClientCapabilitiesSchema.nullish(),
});
/** `initialize` params. */
export type { InitializeParams };

/**
 * `initialize` result. `environmentInfo` (codex 0.171) is always sent by this
 * server, and optional for a client, since older servers did not send it.
 */
export const InitializeResultSchema = z.object({
  sessionId: z.string(),
  environmentInfo: EnvironmentInfoSchema.optional(),
  capabilities: z.object({ binaryOutput: z.boolean() }).optional(),
});
/** `initialize` result. */
export type { InitializeResult };

// -- Processes --

/**
 * Most entries in `argv`, `env` and `envPolicy.set`. A process cannot be
 * started with more anyway (Linux allows about 2 MiB of arguments and
 * environment), and a start with 500,000 variables took seconds of the
 * server's one thread before the spawn failed.
 */
const MAX_PROCESS_ENTRIES = 65_536;
/** Most globs in `envPolicy.exclude` and `envPolicy.includeOnly` (each is matched against every name). */
const MAX_ENV_GLOBS = 4096;

/** Counts own enumerable keys of `value`, stopping past `stop`. */
function countKeys(value: unknown, stop: number): number {
  if (value === null || typeof value !== "object") return 0;
  let n = 0;
  for (const key in value) {
    if (Object.hasOwn(value, key) && ++n > stop) break;
  }
  return n;
}

/**
 * `schema`, refused cheaply, before its entries are parsed one by one, when
 * the array or object holds more than `max` entries. (Typed as `schema`: the
 * check only narrows what it accepts.)
 */
function capped<T extends z.ZodType>(schema: T, max: number, noun: string): T {
  return z.preprocess((value, ctx) => {
    const n = Array.isArray(value) ? value.length : countKeys(value, max);
    if (n > max) ctx.addIssue({ code: "custom", message: `at most ${max} ${noun} are allowed` });
    return value;
  }, schema) as unknown as T;
}

const envRecord = capped(z.record(z.string(), z.string()), MAX_PROCESS_ENTRIES, "variables");
const globList = capped(z.array(z.string()), MAX_ENV_GLOBS, "globs");

/** The environment policy codex sends with remote starts. */
export const EnvPolicySchema = z.object({
  inherit: z.enum(["all", "core", "none"]),
  ignoreDefaultExcludes: z.boolean(),
  exclude: globList,
  set: envRecord,
  includeOnly: globList,
});
/** The environment policy. */
export type { EnvPolicy };

/**
 * The pass-through environment policy: inherit all of the server's
 * environment, with nothing dropped (not even the default `*KEY*`,
 * `*SECRET*`, `*TOKEN*` excludes), set or filtered; `fields` override.
 *
 * @example
 * ```ts
 * import { inheritEnv } from "./process.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(inheritEnv(), {
 *   inherit: "all", ignoreDefaultExcludes: true, exclude: [], set: {}, includeOnly: [],
 * });
 * assert.equal(inheritEnv({ inherit: "core" }).inherit, "core");
 * ```
 */
export function inheritEnv(fields: Partial<EnvPolicy> = {}): EnvPolicy {
  return {
    inherit: "all",
    ignoreDefaultExcludes: true,
    exclude: [],
    set: {},
    includeOnly: [],
    ...fields,
  };
}

/**
 * Which tool call a process belongs to, as codex 0.171 sends it. Accepted and
 * logged at debug level; it changes nothing.
 */
export const ProcessMetadataSchema = z.object({
  threadId: z.string().nullish(),
  toolCallId: z.string().nullish(),
});

/** `process/start` params. */
export const ProcessStartParamsSchema = z.object({
  processId,
  argv: capped(
    z.array(z.string()).min(1, "argv must not be empty"),
    MAX_PROCESS_ENTRIES,
    "arguments",
  ),
  cwd: z.string().min(1, "cwd must not be empty"),
  env: envRecord,
  envPolicy: EnvPolicySchema.nullish(),
  tty: z.boolean(),
  pipeStdin: z.boolean().nullish(),
  arg0: z.string().nullish(),
  size: TerminalSizeSchema.nullish(),
  timeoutMs: z.int().positive().nullish(),
  /** codex's sandbox (lib/protocol/sandbox.ts); null or absent: none. */
  sandbox: FileSystemSandboxContextSchema.nullish(),
  /** codex 0.171: route the process's network through a managed proxy. */
  enforceManagedNetwork: z.boolean().nullish(),
  /** codex 0.171: the managed network's settings (refused when not null). */
  managedNetwork: z.unknown().optional(),
  /** codex 0.171: a network proxy to launch (refused when not null). */
  networkProxy: z.unknown().optional(),
  /** codex 0.171: a shell snapshot to source first (refused when not null). */
  shellSnapshot: z.unknown().optional(),
  /** codex 0.171: the thread and tool call the process belongs to. */
  metadata: ProcessMetadataSchema.nullish(),
});
/** `process/start` params. */
export type { ProcessStartParams };

/**
 * `process/start` result. `sandboxType` says which sandbox the process runs
 * in: `"none"` without one (this server always sends it; older servers did
 * not, so a client must not require it).
 */
export const ProcessStartResultSchema = z.object({
  processId: z.string(),
  sandboxType: SandboxTypeSchema.optional(),
});

/** `process/read` params. */
export const ProcessReadParamsSchema = z.object({
  processId,
  afterSeq: seq.nullish(),
  maxBytes: u64.nullish(),
  waitMs: u64.nullish(),
});
/** `process/read` params. */
export type { ProcessReadParams };

/** One retained output chunk. */
export const OutputChunkSchema = z.object({
  seq,
  stream: StreamSchema,
  chunk: z.string(),
});
/** One retained output chunk (base64 bytes). */
export type { OutputChunk };

/** Chunks evicted by retention between a read's cursor and what it returned. */
export const GapSchema = z.object({
  afterSeq: seq,
  throughSeq: seq,
  bytes: z.int().nonnegative(),
});
/** A reported gap. */
export type { Gap };

/** `process/read` result. */
export const ProcessReadResultSchema = z.object({
  chunks: z.array(OutputChunkSchema),
  nextSeq: seq,
  exited: z.boolean(),
  exitCode: z.int().nullable(),
  closed: z.boolean(),
  failure: z.string().nullable(),
  gap: GapSchema.optional(),
  signal: z.string().nullable().optional(),
  timedOut: z.boolean().optional(),
  /**
   * Whether the exit looks like the sandbox denied something (codex 0.171);
   * false unless a sandbox was applied. Always sent by this server.
   */
  sandboxDenied: z.boolean().optional(),
});
/** `process/read` result. */
export type { ProcessReadResult };

/** `process/write` params. */
export const ProcessWriteParamsSchema = z.object({
  processId,
  chunk: z.string(),
  /** Idempotency key: a repeated id is answered without writing again. */
  writeId: z.string().min(1, "writeId must not be empty").nullish(),
});
/** `process/write` params. */
export type { ProcessWriteParams };

/** Result status of `process/write` and `process/closeStdin`. */
export const WriteStatusSchema = z.enum([
  "accepted",
  "unknownProcess",
  "stdinClosed",
  "starting",
]);
/** A write status. */
export type { WriteStatus };

/** `process/write` and `process/closeStdin` result. */
export const WriteResultSchema = z.object({ status: WriteStatusSchema });

/** Params that only name a process. */
export const ProcessIdParamsSchema = z.object({ processId });

/** `process/terminate` result. */
export const TerminateResultSchema = z.object({ running: z.boolean() });

/** `process/resize` params. */
export const ProcessResizeParamsSchema = z.object({
  processId,
  rows: TerminalSizeSchema.shape.rows,
  cols: TerminalSizeSchema.shape.cols,
});

/** Signal names accepted by `process/signal`. */
export const SignalNameSchema = z.enum([
  "interrupt",
  "terminate",
  "kill",
  "hangup",
  "quit",
  "user1",
  "user2",
]);

/** `process/signal` params. */
export const ProcessSignalParamsSchema = z.object({
  processId,
  signal: SignalNameSchema,
});

/** State of a process in `process/list`. */
export const ProcessStateSchema = z.enum([
  "starting",
  "running",
  "exited",
  "closed",
]);

/** One entry of `process/list`. */
export const ProcessInfoSchema = z.object({
  processId: z.string(),
  argv: z.array(z.string()),
  pid: z.int().nullable(),
  tty: z.boolean(),
  state: ProcessStateSchema,
  exitCode: z.int().nullable(),
  signal: z.string().nullable(),
  timedOut: z.boolean(),
  startedAt: z.number(),
  lastSeq: seq,
});
/** One entry of `process/list`. */
export type { ProcessInfo };

/** `process/list` result. */
export const ProcessListResultSchema = z.object({
  processes: z.array(ProcessInfoSchema),
});

/** Params of methods that take none (absent, null or `{}`). */
export const EmptyParamsSchema = z.object({});
/** The empty result `{}`. */
export const EmptyResultSchema = z.object({});

// -- Notifications (server → client) --

/** `process/output` notification params. */
export const OutputNotificationSchema = z.object({
  processId: z.string(),
  seq,
  stream: StreamSchema,
  chunk: z.string(),
});
/** `process/output` notification params. */
export type { OutputNotification };

/** `process/exited` notification params. */
export const ExitedNotificationSchema = z.object({
  processId: z.string(),
  seq,
  exitCode: z.int(),
  signal: z.string().optional(),
  timedOut: z.boolean().optional(),
  /** As in `process/read`: false unless a sandbox was applied. */
  sandboxDenied: z.boolean().optional(),
});
/** `process/exited` notification params. */
export type { ExitedNotification };

/** `process/closed` notification params. */
export const ClosedNotificationSchema = z.object({
  processId: z.string(),
  seq,
});
/** `process/closed` notification params. */
export type { ClosedNotification };

/**
 * The one method table: every request method with its params and result
 * schema. The server dispatches from it, the client types its calls with it,
 * and the README's API section follows it.
 */
export const PROCESS_METHODS = {
  "process/start": {
    params: ProcessStartParamsSchema,
    result: ProcessStartResultSchema,
  },
  "process/read": {
    params: ProcessReadParamsSchema,
    result: ProcessReadResultSchema,
  },
  "process/write": {
    params: ProcessWriteParamsSchema,
    result: WriteResultSchema,
  },
  "process/closeStdin": {
    params: ProcessIdParamsSchema,
    result: WriteResultSchema,
  },
  "process/terminate": {
    params: ProcessIdParamsSchema,
    result: TerminateResultSchema,
  },
  "process/resize": {
    params: ProcessResizeParamsSchema,
    result: EmptyResultSchema,
  },
  "process/signal": {
    params: ProcessSignalParamsSchema,
    result: EmptyResultSchema,
  },
  "process/list": {
    params: EmptyParamsSchema,
    result: ProcessListResultSchema,
  },
  /** Liveness probe for clients' keepalive; answers `{}`. */
  ping: { params: EmptyParamsSchema, result: EmptyResultSchema },
} as const;

/** Notification methods the server sends. */
export const NOTIFICATIONS = {
  "process/output": OutputNotificationSchema,
  "process/exited": ExitedNotificationSchema,
  "process/closed": ClosedNotificationSchema,
} as const;
