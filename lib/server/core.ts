// Copyright 2026 the exec-server authors. MIT license.
/**
 * The transport-neutral server: sessions, the method handlers and the
 * services behind them, built from options. The WebSocket server and the
 * stdio server are edges over one {@linkcode ServerCore}; each hands it a
 * {@linkcode Peer} per connection.
 *
 * @example Driving a core with an in-memory peer
 * ```ts
 * import { createServerCore } from "./core.ts";
 * import { NULL_LOGGER } from "../util/mod.ts";
 * import assert from "node:assert/strict";
 * const core = createServerCore({ logger: NULL_LOGGER });
 * const sent: string[] = [];
 * const conn = core.connect({ sendText: (t) => void sent.push(t), close() {}, bufferedAmount: () => 0 });
 * await conn.receive('{"id":1,"method":"initialize","params":{"clientName":"doc"}}');
 * assert.equal(core.registry.size, 1);
 * assert.match(sent[0]!, /"sessionId":"[0-9a-f-]{36}"/);
 * await core.registry.shutdown();
 * ```
 *
 * @module
 */
import type { Spawner } from "../process/child.ts";
import { defaultSpawner, hostEnv } from "../process/spawner.ts";
import type { FileSystemService, SandboxPolicyFactory } from "../fs/service.ts";
// The roots are checked at start; the fs layer itself loads on the first fs/* call.
import { checkFsRoots } from "../fs/roots.ts";
import { createLogger, type Logger } from "../util/logger.ts";
import { type Clock, SYSTEM_CLOCK } from "../util/clock.ts";
import { isWithin } from "../util/path.ts";
import { Connection, type ConnectionOptions, type Peer } from "./connection.ts";
import { fsHandlers } from "./fs_handlers.ts";
import { type HandlerTable, PROCESS_HANDLERS, type ServerContext } from "./process_handlers.ts";
import { DEFAULT_SESSION_TTL_MS, SessionRegistry } from "./session.ts";
import { ENVIRONMENT_HANDLERS } from "./environment_handlers.ts";
import { hostHandlers } from "./host_handlers.ts";
import { hostEnvironmentInfo } from "./edge_host.ts";
import type { EnvironmentInfo } from "../protocol/wire.ts";
import { SandboxService, type SandboxServiceOptions } from "../sandbox/service.ts";
import { SandboxError } from "../sandbox/policy.ts";
import { kindError } from "../protocol/errors.ts";
import type { FileSystemSandboxContext } from "../protocol/sandbox.ts";

/** Options of the core, whatever the transport; every field has a default. */
export interface ServerCoreOptions {
  /** Largest inbound message in bytes. @default {16777216} */
  maxMessageBytes?: number;
  /** Live sessions. @default {1024} */
  maxSessions?: number;
  /** Processes per session (finished ones count until their retention ends). @default {1024} */
  maxProcesses?: number;
  /** How long a detached session keeps its processes, in ms. @default {80000} */
  sessionTtlMs?: number;
  /** Output bytes retained per process. @default {1048576} */
  retainedBytes?: number;
  /** SIGTERM → SIGKILL grace in ms. @default {2000} */
  killGraceMs?: number;
  /** How long a closed process stays readable, in ms. @default {30000} */
  exitedRetentionMs?: number;
  /** Logger. @default {a stderr logger at "info"} */
  logger?: Logger;
  /** Directories every fs/* call is confined to; empty = whole filesystem. @default {[]} */
  fsRoots?: string[];
  /**
   * Checks `fs/*` paths against a codex permission profile (`sandbox` with
   * `permissions`): called with the profile, it returns a policy the fs layer
   * consults on every canonical path it resolves. @default {the sandbox
   * service's check (lib/sandbox/fs_policy.ts)}
   * @ignore
   */
  fsSandboxPolicy?: SandboxPolicyFactory;
  /**
   * Starts children (a seam for tests; not a stable API).
   * @default {defaultSpawner: pipes, and terminals when FFI is allowed}
   * @ignore
   */
  spawn?: Spawner;
  /**
   * How sandbox profiles are enforced: a service, or options for one (the
   * bwrap path, an operator default profile no client can widen).
   * @default {a SandboxService with bwrap from the server's PATH and no default profile}
   * @ignore
   */
  sandbox?: SandboxService | SandboxServiceOptions;
  /** The environment an `envPolicy` inherits from. @default {hostEnv: the server's own environment} */
  baseEnv?: () => Record<string, string>;
  /**
   * Requests one connection has handled at once (codex's
   * `--concurrent-requests`); later ones wait, and the edge stops reading
   * while as many wait. `ping`, `process/terminate`, `process/signal`,
   * `process/list` and `process/resize` never wait. @default {64}
   */
  concurrentRequests?: number;
  /**
   * A connection on which no `initialize` succeeded this long after it
   * opened is closed (1008), in ms; 0 for no deadline. @default {10000}
   */
  initializeTimeoutMs?: number;
  /**
   * Time for every timer: session expiry, process timeouts, exit and kill
   * grace, retention, long-poll reads, drain polls and the WebSocket stall
   * watchdog. @default {SYSTEM_CLOCK}
   */
  clock?: Clock;
  /**
   * What `initialize` and `environment/info` report: a value, or a function
   * called once, on first use. @default {hostEnvironmentInfo: read from this host}
   */
  environmentInfo?: EnvironmentInfo | (() => EnvironmentInfo);
  /**
   * `http/request`s one connection may have at once: buffered ones in flight
   * plus bodies still streaming. @default {16}
   */
  maxHttpRequests?: number;
  /**
   * Codex's system config directory, read by `environmentConfig/read`
   * (`config.toml`, `requirements.toml`). @default {"/etc/codex"}
   */
  codexSystemDir?: string;
}

/** What both transports share: sessions, handlers and services. */
export interface ServerCore {
  /** Handler context. */
  readonly context: ServerContext;
  /** Every method's handler. */
  readonly handlers: HandlerTable;
  /** The logger. */
  readonly log: Logger;
  /** All sessions. */
  readonly registry: SessionRegistry;
  /** The clock every timer of the server runs on. */
  readonly clock: Clock;
  /** Serves one connection over `peer`; the edge feeds it messages and reports the close. */
  connect(peer: Peer, options?: ConnectionOptions): Connection;
  /**
   * Shuts down: every session's processes, then what the sandbox keeps on
   * the host (mount-point placeholders, its private files). Idempotent.
   */
  close(): Promise<void>;
}

/** Builds the transport-independent part of a server; throws on a bad `fsRoots` entry. */
export function createServerCore(options: ServerCoreOptions = {}): ServerCore {
  const log = options.logger ?? createLogger("info", (l) => console.error(l));
  const clock = options.clock ?? SYSTEM_CLOCK;
  const registry = new SessionRegistry({
    clock,
    ttlMs: options.sessionTtlMs ?? DEFAULT_SESSION_TTL_MS,
    maxSessions: options.maxSessions ?? 1024,
    maxProcesses: options.maxProcesses ?? 1024,
    timings: {
      killGraceMs: options.killGraceMs ?? 2000,
      retentionMs: options.exitedRetentionMs ?? 30_000,
      retainedBytes: options.retainedBytes ?? 1024 * 1024,
      // Room for one whole message of stdin, and a few writes in flight.
      maxPendingStdinBytes: Math.max(
        8 * 1024 * 1024,
        options.maxMessageBytes ?? 16 * 1024 * 1024,
      ),
    },
    onExpire: (id) => log.info(`session ${id} expired`),
  });
  const maxMessageBytes = options.maxMessageBytes ?? 16 * 1024 * 1024;
  const context: ServerContext = {
    registry,
    spawn: options.spawn ?? defaultSpawner,
    sandbox: options.sandbox instanceof SandboxService
      ? options.sandbox
      : new SandboxService(options.sandbox),
    baseEnv: options.baseEnv ?? hostEnv,
    maxMessageBytes,
    log,
    environmentInfo: once(options.environmentInfo ?? hostEnvironmentInfo),
  };
  const files = lazyFileSystem(
    options.fsRoots ?? [],
    maxMessageBytes,
    options.fsSandboxPolicy ?? profileCheck(context.sandbox),
  );
  const handlers: HandlerTable = {
    ...PROCESS_HANDLERS,
    ...fsHandlers(files.get),
    ...ENVIRONMENT_HANDLERS,
    ...hostHandlers({
      env: options.baseEnv ?? hostEnv,
      clock,
      log,
      // A whole body travels base64 in one reply: 3/4 of a message, less the envelope.
      maxBodyBytes: Math.max(1024, Math.floor((maxMessageBytes - 64 * 1024) * 3 / 4)),
      maxHttpRequests: options.maxHttpRequests ?? 16,
      networkAllowed: () => !context.sandbox.networkRestricted,
      ...(options.codexSystemDir ? { codexSystemDir: options.codexSystemDir } : {}),
      configReadable: configGate(files.roots, context.sandbox),
    }),
  };
  let closing: Promise<void> | null = null;
  return {
    context,
    handlers,
    log,
    registry,
    clock,
    connect: (peer, connectionOptions) =>
      new Connection(peer, context, handlers, {
        maxInFlight: options.concurrentRequests ?? 64,
        initializeTimeoutMs: options.initializeTimeoutMs ?? 10_000,
        ...connectionOptions,
      }),
    close: () =>
      closing ??= (async () => {
        await registry.shutdown();
        files.close();
        await context.sandbox[Symbol.asyncDispose]();
      })(),
  };
}

/** A value, or a function's result computed on the first call. */
function once<T extends object>(source: T | (() => T)): () => T {
  if (typeof source !== "function") return () => source;
  let value: T | null = null;
  return () => value ??= (source as () => T)();
}

/**
 * Checks the roots now (a bad `--fs-root`, or one that cannot be enforced
 * without FFI, fails at startup); loads the fs layer and opens the roots on
 * the first fs/* call; `close` releases them (after the sessions, whose
 * watches use them).
 */
function lazyFileSystem(
  fsRoots: string[],
  maxMessageBytes: number,
  sandboxPolicy: SandboxPolicyFactory | undefined,
): { get: () => Promise<FileSystemService>; close: () => void; roots: readonly string[] } {
  const roots = checkFsRoots(fsRoots);
  let fs: FileSystemService | null = null;
  // base64 inflates by 4/3; leave room for the JSON envelope.
  const maxReadBytes = Math.max(1024, Math.floor((maxMessageBytes - 4096) * 3 / 4));
  let closed = false;
  return {
    roots,
    get: async () => {
      if (fs) return fs;
      const { FileSystemService } = await import("../fs/service.ts");
      // A call that raced the shutdown must not open what close() already let go.
      if (closed) throw new Error("the server is shutting down");
      return fs ??= new FileSystemService({
        roots,
        maxReadBytes,
        ...(sandboxPolicy ? { sandboxPolicy } : {}),
      });
    },
    close: () => {
      closed = true;
      fs?.close();
    },
  };
}

/**
 * What `environmentConfig/read` may look at: what the client's `cwd` leads
 * to must be inside the fs roots (`--fs-root`), and everything must be
 * readable under the operator's `--sandbox` profile, as for `fs/readFile`.
 */
function configGate(
  roots: readonly string[],
  sandbox: SandboxService,
): (path: string, steered: boolean) => boolean {
  return (path, steered) => {
    if (steered && roots.length > 0 && !roots.some((root) => isWithin(path, root))) return false;
    try {
      return sandbox.fsPolicy(null)?.allows(path, "read") ?? true;
    } catch {
      return false; // a profile that cannot be compiled allows nothing
    }
  };
}

/**
 * The fs check of codex permission profiles (and, for calls without one, of
 * the operator's `--sandbox` profile): the sandbox service's policy, which
 * the fs layer consults on every canonical path.
 */
function profileCheck(sandbox: SandboxService): SandboxPolicyFactory {
  return (param) => {
    try {
      return sandbox.fsPolicy(param as FileSystemSandboxContext | null);
    } catch (err) {
      if (err instanceof SandboxError) throw kindError(err.kind, err.message);
      throw err;
    }
  };
}
