// Copyright 2026 the exec-server authors. MIT license.
/**
 * Sessions own processes (and fs watches); a connection merely attaches to
 * one. Dropping the connection detaches the session, which then expires after
 * a TTL unless a new connection resumes it. Pure: time (the TTL, the kill
 * grace of a teardown, every process timer) comes from an injected clock.
 *
 * @module
 */
import type { StreamName } from "../process/child.ts";
import { ErrorCode, invalidRequest, RpcError } from "../protocol/errors.ts";
import {
  ManagedProcess,
  type ProcessObserver,
  type ProcessSpec,
  type ProcessTimings,
} from "./managed_process.ts";
import type { ClosedNotification, ExitedNotification } from "../protocol/process.ts";
import { type Clock, SYSTEM_CLOCK, timeoutSignal } from "../util/clock.ts";

/** What a connection offers the session it is attached to. */
export interface Attachment {
  /** Unique id of the connection (UUIDv4). */
  readonly id: string;
  /** Sends a JSON notification. */
  notify(method: string, params: unknown): void;
  /** Sends process output (the connection picks base64 JSON or a binary frame). */
  output(
    processId: string,
    seq: number,
    stream: StreamName,
    data: Uint8Array,
  ): void;
  /** A promise while the peer is congested (stop producing), else undefined. */
  congested(): Promise<void> | undefined;
  /**
   * The attachment is over (another connection resumed the session, or the
   * session was torn down): fail whatever is still pending with `reason`.
   */
  evict(reason: string): void;
}

/** How long a teardown waits for SIGKILLed processes to close before letting go of them. */
const KILLED_REAP_MS = 1000;

/** Something a session owns and closes with it (fs watches). */
export interface SessionResource {
  /** Releases the resource; idempotent. */
  close(): void | Promise<void>;
}

/**
 * How long a detached session keeps its processes by default, in ms: longer
 * than the codex 0.171 client's 45 s recovery window, as codex's own server
 * (about 75-80 s).
 */
export const DEFAULT_SESSION_TTL_MS = 80_000;

/** Options for {@linkcode SessionRegistry}. */
export interface SessionRegistryOptions {
  /** How long a detached session survives. @default {80000} */
  ttlMs?: number;
  /** Maximum number of live sessions. @default {1024} */
  maxSessions?: number;
  /** Maximum number of processes per session (live and retained). @default {1024} */
  maxProcesses?: number;
  /** Process timings and retention. @default {{}} (each timing's own default) */
  timings?: ProcessTimings;
  /** Time source. @default {SYSTEM_CLOCK} */
  clock?: Clock;
  /** Called when a detached session expires (for logs). @default {undefined} (nothing is called) */
  onExpire?: (sessionId: string) => void;
}

/** One session: a process table and the connection currently attached. */
export class Session implements ProcessObserver {
  /** UUIDv4. */
  readonly id: string;
  readonly #registry: SessionRegistry;
  readonly #processes = new Map<string, ManagedProcess>();
  readonly #resources = new Set<SessionResource>();
  #attachment: Attachment | null = null;
  #detachedFrom: Attachment | null = null;
  #expiresAt: number | null = null;
  #cancelExpiry: (() => void) | null = null;
  #closed = false;

  /** Use {@linkcode SessionRegistry.create}. */
  constructor(id: string, registry: SessionRegistry) {
    this.id = id;
    this.#registry = registry;
  }

  /** The attached connection, or null while detached. */
  get attachment(): Attachment | null {
    return this.#attachment;
  }

  /** Absolute expiry time while detached, else null. */
  get expiresAt(): number | null {
    return this.#expiresAt;
  }

  /** True once torn down. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Whether `attachment` is the one currently attached. */
  isAttached(attachment: Attachment): boolean {
    return this.#attachment === attachment;
  }

  /** Registers a resource to close with the session. */
  own(resource: SessionResource): void {
    if (this.#closed) {
      // Too late to belong to the session: release it at once.
      void resource.close();
      return;
    }
    this.#resources.add(resource);
  }

  /** Forgets a resource (closed by its owner). */
  disown(resource: SessionResource): void {
    this.#resources.delete(resource);
  }

  // -- Processes --

  /** The process with this id, if any. */
  process(id: string): ManagedProcess | undefined {
    return this.#processes.get(id);
  }

  /** All processes, in start order. */
  processes(): ManagedProcess[] {
    return [...this.#processes.values()];
  }

  /**
   * Reserves `spec.processId` (state starting) before any await, so of two
   * concurrent starts with one id exactly one wins.
   */
  reserve(spec: ProcessSpec): ManagedProcess {
    if (this.#processes.has(spec.processId)) {
      throw invalidRequest(`process ${spec.processId} already exists`);
    }
    const max = this.#registry.maxProcesses;
    if (this.#processes.size >= max) {
      throw invalidRequest(
        `too many processes in this session: the limit is ${max} (finished processes count until their retention ends)`,
      );
    }
    const proc = new ManagedProcess(spec, this, this.#registry.timings, this.#registry.clock);
    this.#processes.set(spec.processId, proc);
    return proc;
  }

  /** Frees a reservation whose spawn failed. */
  release(proc: ManagedProcess): void {
    if (this.#processes.get(proc.id) === proc) this.#processes.delete(proc.id);
    proc.dispose();
  }

  /** @internal ProcessObserver */
  processOutput(
    proc: ManagedProcess,
    seq: number,
    stream: StreamName,
    data: Uint8Array,
  ): void | Promise<void> {
    const att = this.#attachment;
    if (!att) return;
    att.output(proc.id, seq, stream, data);
    return att.congested();
  }

  /** @internal ProcessObserver */
  processExited(_proc: ManagedProcess, params: ExitedNotification): void {
    this.#attachment?.notify("process/exited", params);
  }

  /** @internal ProcessObserver */
  processClosed(_proc: ManagedProcess, params: ClosedNotification): void {
    this.#attachment?.notify("process/closed", params);
  }

  /** @internal ProcessObserver */
  processExpired(proc: ManagedProcess): void {
    if (this.#processes.get(proc.id) === proc) this.#processes.delete(proc.id);
  }

  /** Sends a notification to the attached connection, if any. */
  notify(method: string, params: unknown): void {
    this.#attachment?.notify(method, params);
  }

  // -- Attachment (used by the registry) --

  /** @internal */
  attach(attachment: Attachment): void {
    this.#cancelExpiry?.();
    this.#cancelExpiry = null;
    this.#expiresAt = null;
    const old = this.#detachedFrom;
    this.#detachedFrom = null;
    this.#attachment = attachment;
    old?.evict("session has been resumed by another connection");
  }

  /** @internal */
  detach(attachment: Attachment, expiresAt: number, cancel: () => void): void {
    this.#attachment = null;
    this.#detachedFrom = attachment;
    this.#expiresAt = expiresAt;
    this.#cancelExpiry = cancel;
  }

  /**
   * Tears the session down: SIGTERM to every process tree (descendants that
   * outlived their leader included), SIGKILL to survivors after the grace
   * period, resources closed. Resolves when every
   * process has closed or been killed. Idempotent.
   *
   * @param reason Why, for the error pending calls of the attachment get.
   */
  async close(reason = "the session ended"): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#cancelExpiry?.();
    this.#cancelExpiry = null;
    (this.#attachment ?? this.#detachedFrom)?.evict(`session ${this.id} was closed: ${reason}`);
    this.#attachment = null;
    this.#detachedFrom = null;
    const procs = this.processes();
    for (const p of procs) {
      try {
        p.terminate();
      } catch {
        // The group could not be signalled (EPERM); the SIGKILL below retries.
      }
    }
    const clock = this.#registry.clock;
    {
      using grace = timeoutSignal(clock, this.#registry.timings.killGraceMs ?? 2000);
      await Promise.all(procs.map((p) => p.whenGone(grace.signal)));
    }
    // Closed processes too: a descendant may outlive its leader.
    for (const p of procs) p.kill();
    {
      using reaped = timeoutSignal(clock, KILLED_REAP_MS);
      await Promise.all(procs.map((p) => p.whenClosed(reaped.signal)));
    }
    for (const p of procs) p.dispose();
    this.#processes.clear();
    await Promise.all([...this.#resources].map((r) => r.close()));
    this.#resources.clear();
  }
}

/**
 * All sessions of a server.
 *
 * @example
 * ```ts
 * import { SessionRegistry } from "./session.ts";
 * import assert from "node:assert/strict";
 * const registry = new SessionRegistry({ ttlMs: 30_000 });
 * assert.equal(registry.size, 0);
 * ```
 */
export class SessionRegistry {
  readonly #sessions = new Map<string, Session>();
  readonly #ttlMs: number;
  readonly #maxSessions: number;
  readonly #onExpire: ((id: string) => void) | undefined;
  /** Max processes per session. */
  readonly maxProcesses: number;
  /** Process timings. */
  readonly timings: ProcessTimings;
  /** Time source. */
  readonly clock: Clock;

  /** Creates an empty registry. */
  constructor(options: SessionRegistryOptions = {}) {
    this.#ttlMs = options.ttlMs ?? DEFAULT_SESSION_TTL_MS;
    this.#maxSessions = options.maxSessions ?? 1024;
    this.maxProcesses = options.maxProcesses ?? 1024;
    this.timings = options.timings ?? {};
    this.clock = options.clock ?? SYSTEM_CLOCK;
    this.#onExpire = options.onExpire;
  }

  /** Number of live sessions. */
  get size(): number {
    return this.#sessions.size;
  }

  /** The session with this id, if live. */
  get(id: string): Session | undefined {
    return this.#sessions.get(id);
  }

  /** Creates a session attached to `attachment`. */
  create(attachment: Attachment): Session {
    if (this.#sessions.size >= this.#maxSessions) {
      throw invalidRequest(
        `too many sessions: the limit is ${this.#maxSessions}`,
      );
    }
    const session = new Session(crypto.randomUUID(), this);
    this.#sessions.set(session.id, session);
    session.attach(attachment);
    return session;
  }

  /**
   * Attaches `attachment` to an existing detached session. Expiry is decided
   * here: at the boundary, teardown wins even if the timer has not fired.
   */
  resume(id: string, attachment: Attachment): Session {
    const session = this.#sessions.get(id);
    if (!session) throw invalidRequest(`unknown session id ${id}`);
    if (session.attachment) {
      throw new RpcError(
        ErrorCode.SessionAttached,
        `session ${id} is already attached to another connection`,
      );
    }
    const expiresAt = session.expiresAt;
    if (expiresAt !== null && this.clock.now() >= expiresAt) {
      this.#expire(session);
      throw invalidRequest(`unknown session id ${id}`);
    }
    session.attach(attachment);
    return session;
  }

  /** The connection went away: keep the session for the TTL. */
  detach(session: Session, attachment: Attachment): void {
    if (!session.isAttached(attachment) || session.closed) return;
    const expiresAt = this.clock.now() + this.#ttlMs;
    const cancel = this.clock.setTimer(() => {
      if (session.attachment === null && session.expiresAt === expiresAt) {
        this.#expire(session);
      }
    }, this.#ttlMs);
    session.detach(attachment, expiresAt, cancel);
  }

  #expire(session: Session): void {
    this.#sessions.delete(session.id);
    this.#onExpire?.(session.id);
    void session.close("it expired while detached");
  }

  /** Tears down one session now (e.g. a stdio transport ended). */
  async remove(session: Session): Promise<void> {
    this.#sessions.delete(session.id);
    await session.close("its connection ended");
  }

  /** Tears down every session, attached or detached. */
  async shutdown(): Promise<void> {
    const all = [...this.#sessions.values()];
    this.#sessions.clear();
    await Promise.all(all.map((s) => s.close("the server is shutting down")));
  }
}
