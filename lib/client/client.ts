// Copyright 2026 the exec-server authors. MIT license.
/**
 * `ExecServerClient`: a typed client for exec-server (and codex's
 * exec-server protocol) that runs on Deno and Node 20+. It negotiates binary
 * output frames, routes pushed process events to {@linkcode ProcessHandle}s
 * in strict seq order, and resumes the session after a dropped connection.
 *
 * States: `connected` → `resuming` → `connected` | `failed`; `closed` after
 * {@linkcode ExecServerClient.close}. In `resuming`, new calls wait; calls
 * that were in flight are sent again only if they just read
 * ({@linkcode REPLAYABLE_METHODS}); the others fail with
 * {@linkcode CallInterruptedError}. In `failed`, everything fails with one
 * {@linkcode ConnectionClosedError} message (as codex's client does).
 *
 * @module
 */
import { ClientFiles, type FilesHost } from "./files.ts";
import {
  CallInterruptedError,
  ConnectionClosedError,
  DISCONNECTED,
  ProtocolError,
  RequestTimeoutError,
} from "./errors.ts";
import type { ProcessOutput } from "./events.ts";
import { type ProcessControl, ProcessHandle, type ProcessHost } from "./process.ts";
import { type CallOptions, RpcCalls } from "./rpc.ts";
import {
  type ClientTransport,
  type TransportConnector,
  type TransportHandlers,
  webSocketConnector,
} from "./transport.ts";
import { inboundRouter } from "./inbound.ts";
import { delay, messageOf, unrefTimer } from "../util/mod.ts";
import type { MethodName, ParamsOf, ResultOf } from "../protocol/methods.ts";
import type { FsChangedNotification, ProcessInfo } from "../protocol/wire.ts";
import {
  type ClientState,
  type ExecServerClientOptions,
  isRetryableResume,
  type StartOptions,
  startParams,
} from "./options.ts";

/**
 * A client of one exec-server session.
 *
 * @example One-shot command
 * ```ts ignore
 * import { ExecServerClient } from "./mod.ts";
 * await using client = await ExecServerClient.connect({ url: "ws://127.0.0.1:8080" });
 * const out = await client.exec(["uname", "-a"]);
 * console.log(out.exitCode, new TextDecoder().decode(out.stdout));
 * ```
 */
export class ExecServerClient implements AsyncDisposable {
  /** File calls (`fs/*`, upload, download). */
  readonly fs: ClientFiles;
  readonly #connector: TransportConnector;
  readonly #label: string;
  readonly #clientName: string;
  readonly #connectTimeoutMs: number;
  readonly #autoResume: boolean;
  readonly #resumeWindowMs: number;
  readonly #wantBinary: boolean;
  readonly #maxReorderGap: number;
  readonly #maxBufferedBytes: number;
  readonly #onStateChange: ((state: ClientState, detail?: string) => void) | undefined;
  readonly #resumeSessionId: string | null;
  readonly #rpc: RpcCalls;
  readonly #processes = new Map<string, ProcessControl>();
  readonly #watchers = new Map<string, (n: FsChangedNotification) => void>();
  readonly #closing = new AbortController();
  readonly #host: ProcessHost & FilesHost;
  readonly #inbound: (data: string | Uint8Array) => void;
  #state: ClientState = "connecting";
  #transport: ClientTransport | null = null;
  #sessionId = "";
  #binary = false;
  #failure: string | null = null;
  #recovering: Promise<void> | null = null;
  #closed: Promise<void> | null = null;
  readonly #keepaliveMs: number;
  #lastInbound = Date.now();
  #probing = false;
  #keepalive: ReturnType<typeof setInterval> | null = null;

  private constructor(options: ExecServerClientOptions) {
    if (options.transport) {
      this.#connector = options.transport;
      this.#label = options.url ?? "custom transport";
    } else if (options.url) {
      const wsOptions: { token?: string; caCert?: string } = {};
      if (options.token !== undefined) wsOptions.token = options.token;
      if (options.caCert !== undefined) wsOptions.caCert = options.caCert;
      this.#connector = webSocketConnector(options.url, wsOptions);
      this.#label = options.url;
    } else {
      throw new TypeError("Cannot connect: either url or transport is required");
    }
    this.#clientName = options.clientName ?? "exec-server-client";
    this.#connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
    this.#autoResume = options.autoResume ?? true;
    this.#resumeWindowMs = options.resumeWindowMs ?? 25_000;
    this.#wantBinary = options.binaryOutput ?? true;
    this.#maxReorderGap = options.maxReorderGap ?? 256;
    this.#maxBufferedBytes = options.maxBufferedBytes ?? 16 * 1024 * 1024;
    this.#onStateChange = options.onStateChange;
    this.#resumeSessionId = options.resumeSessionId ?? null;
    this.#keepaliveMs = options.keepaliveMs ?? 15_000;
    this.#rpc = new RpcCalls(options.requestTimeoutMs ?? 60_000);
    this.fs = new ClientFiles(this.#host = this.#makeHost());
    this.#inbound = inboundRouter({
      process: (id) => this.#processes.get(id),
      watcher: (id) => this.#watchers.get(id),
      response: (message) => this.#rpc.response(message),
    });
  }

  /**
   * Connects and initializes a new session, or attaches to
   * `options.resumeSessionId`.
   *
   * @throws {ConnectionClosedError} when the server cannot be reached in time.
   * @throws {ExecServerError} when the server refuses `initialize`.
   */
  static async connect(options: ExecServerClientOptions): Promise<ExecServerClient> {
    const client = new ExecServerClient(options);
    try {
      await client.#attach(client.#resumeSessionId, client.#connectTimeoutMs);
    } catch (err) {
      await client.close();
      throw err;
    }
    return client;
  }

  /** The session id the server assigned. */
  get sessionId(): string {
    return this.#sessionId;
  }

  /** The connection state. */
  get state(): ClientState {
    return this.#state;
  }

  /** Whether the server agreed to send output as binary frames. */
  get binaryOutput(): boolean {
    return this.#binary;
  }

  /** The failure message once failed or closed, else null. */
  get failure(): string | null {
    return this.#failure;
  }

  /**
   * Calls any method of the shared method table with typed params and result.
   *
   * @throws {ExecServerError} for an error the server sent.
   * @throws {ConnectionClosedError} when the connection is gone.
   * @throws {RequestTimeoutError} when no response came in time.
   */
  call<M extends MethodName>(
    method: M,
    params: ParamsOf<M>,
    options: CallOptions = {},
  ): Promise<ResultOf<M>> {
    if (this.#failure !== null) {
      return Promise.reject(new ConnectionClosedError(this.#failure));
    }
    const ready = this.#state === "connected" ? this.#transport : null;
    return this.#rpc.call(method, params, options, ready);
  }

  /**
   * `process/start`: starts a process and returns its handle. The handle
   * listens before the request is sent, so early output is never lost.
   */
  async start(options: StartOptions): Promise<ProcessHandle> {
    const [params, callOptions] = startParams(options);
    const processId = params.processId;
    if (this.#processes.has(processId)) {
      throw new TypeError(`Cannot start process: id ${processId} belongs to a running handle`);
    }
    const handle = new ProcessHandle(this.#host, processId);
    try {
      await this.call("process/start", params, callOptions);
      this.#processes.get(processId)?.started();
    } catch (err) {
      this.#processes.delete(processId);
      if (err instanceof RequestTimeoutError || err instanceof CallInterruptedError) {
        // It may have started: do not leave it running unseen.
        this.call("process/terminate", { processId }).catch(() => {});
      }
      throw err;
    }
    return handle;
  }

  /** Runs a command to completion and collects its output (see {@linkcode ProcessHandle.output}). */
  async exec(argv: string[], options: Omit<StartOptions, "argv"> = {}): Promise<ProcessOutput> {
    const proc = await this.start({ ...options, argv });
    return await proc.output();
  }

  /** `process/list`: every process of the session, finished ones included. */
  async listProcesses(options?: CallOptions): Promise<ProcessInfo[]> {
    return (await this.call("process/list", {}, options)).processes;
  }

  /**
   * Closes the connection. The session detaches on the server, which keeps
   * its processes until its TTL runs out. Pending calls reject; live handles
   * get a failed event. Idempotent.
   */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      this.#failure ??= `${DISCONNECTED}: client closed`;
      this.#stopKeepalive();
      this.#setState("closed");
      this.#closing.abort(new ConnectionClosedError(this.#failure));
      this.#rpc.failAll(new ConnectionClosedError(this.#failure));
      this.#failHandles(this.#failure);
      const transport = this.#transport;
      this.#transport = null;
      await transport?.close();
      await this.#recovering;
    })();
    return this.#closed;
  }

  /** Same as {@linkcode ExecServerClient.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  // -- Connection --

  #setState(state: ClientState, detail?: string): void {
    if (this.#state === state || this.#state === "closed") return;
    this.#state = state;
    if (detail === undefined) this.#onStateChange?.(state);
    else this.#onStateChange?.(state, detail);
  }

  /** Opens a transport and initializes (resuming `resumeId` when given). */
  async #attach(resumeId: string | null, timeoutMs: number): Promise<void> {
    const timeout = new AbortController();
    const fail = (why: string) =>
      timeout.abort(
        new ConnectionClosedError(`Cannot connect to exec-server at ${this.#label}: ${why}`),
      );
    const timer = setTimeout(() => fail(`timed out after ${timeoutMs} ms`), timeoutMs);
    const onClosing = () => fail("client closed");
    this.#closing.signal.addEventListener("abort", onClosing, { once: true });
    const link: { transport: ClientTransport | null; lost: string | null } = {
      transport: null,
      lost: null,
    };
    const handlers: TransportHandlers = {
      message: (data) => {
        this.#lastInbound = Date.now();
        this.#inbound(data);
      },
      close: (reason) => {
        const message = reason ? `${DISCONNECTED}: ${reason}` : DISCONNECTED;
        link.lost = message;
        if (link.transport) this.#onTransportClose(link.transport, message);
      },
    };
    try {
      const transport = await this.#connector(handlers, timeout.signal);
      link.transport = transport;
      try {
        if (link.lost !== null) throw new ConnectionClosedError(link.lost);
        const params: ParamsOf<"initialize"> = { clientName: this.#clientName };
        if (resumeId) params.resumeSessionId = resumeId;
        if (this.#wantBinary && transport.binary) params.capabilities = { binaryOutput: true };
        const result = await this.#rpc.call(
          "initialize",
          params,
          { signal: timeout.signal, requestTimeoutMs: 0 },
          transport,
          true,
        );
        if (resumeId && result.sessionId !== resumeId) {
          throw new ProtocolError(
            `exec-server initialized an unexpected session ${result.sessionId} instead of ${resumeId}`,
          );
        }
        transport.send(JSON.stringify({ method: "initialized", params: {} }));
        if (link.lost !== null) throw new ConnectionClosedError(link.lost);
        if (this.#state === "closed") throw new ConnectionClosedError(this.#failure!);
        this.#binary = result.capabilities?.binaryOutput === true;
        this.#sessionId = result.sessionId;
        this.#transport = transport;
        this.#lastInbound = Date.now();
        this.#setState("connected");
        this.#startKeepalive();
        this.#rpc.flush(transport);
      } catch (err) {
        await transport.close();
        throw err;
      }
    } finally {
      clearTimeout(timer);
      this.#closing.signal.removeEventListener("abort", onClosing);
    }
  }

  #startKeepalive(): void {
    if (this.#keepaliveMs <= 0 || this.#keepalive !== null) return;
    this.#keepalive = setInterval(() => this.#probe(), Math.max(50, this.#keepaliveMs / 3));
    unrefTimer(this.#keepalive);
  }

  #stopKeepalive(): void {
    if (this.#keepalive !== null) clearInterval(this.#keepalive);
    this.#keepalive = null;
  }

  /** Sends a `ping` when the link has been quiet; drops it when no answer comes. */
  async #probe(): Promise<void> {
    const transport = this.#transport;
    if (this.#state !== "connected" || !transport || this.#probing) return;
    if (Date.now() - this.#lastInbound < this.#keepaliveMs) return;
    this.#probing = true;
    try {
      // Any answer, even an error from a server without `ping`, proves the link.
      await this.#rpc.call("ping", {}, { requestTimeoutMs: this.#keepaliveMs }, transport, true)
        .catch((err) => {
          if (!(err instanceof RequestTimeoutError)) return;
          const why = `no answer to a keepalive ping within ${this.#keepaliveMs} ms`;
          this.#onTransportClose(transport, `${DISCONNECTED}: ${why}`);
          void transport.close();
        });
    } finally {
      this.#probing = false;
    }
  }

  #onTransportClose(transport: ClientTransport, message: string): void {
    if (transport !== this.#transport) {
      this.#rpc.transportLost(transport, message, false);
      return;
    }
    this.#transport = null;
    const resume = this.#autoResume && this.#state === "connected";
    this.#rpc.transportLost(transport, message, resume);
    if (!resume) return this.#fail(message);
    this.#setState("resuming", message);
    this.#recovering = this.#recover(message);
  }

  async #recover(message: string): Promise<void> {
    const deadline = Date.now() + this.#resumeWindowMs;
    let wait = 100;
    let lastError: unknown = new Error("resume window is 0 ms");
    for (;;) {
      const remaining = deadline - Date.now();
      if (remaining <= 0 || this.#closing.signal.aborted) break;
      try {
        await this.#attach(this.#sessionId, Math.min(this.#connectTimeoutMs, remaining));
        break;
      } catch (err) {
        lastError = err;
        if (!isRetryableResume(err)) break;
      }
      await delay(Math.min(wait, deadline - Date.now()), this.#closing.signal);
      wait = Math.min(wait * 2, 1000);
    }
    if (this.#state === "closed") return;
    if (this.#state !== "connected") {
      return this.#fail(
        `${message}; cannot resume session ${this.#sessionId}: ${messageOf(lastError)}`,
      );
    }
    // Rebuild what each live process produced while nobody was attached.
    await Promise.all([...this.#processes.values()].map((c) => c.catchUp()));
  }

  #fail(message: string): void {
    if (this.#failure !== null) return;
    this.#stopKeepalive();
    this.#failure = message;
    this.#setState("failed", message);
    this.#rpc.failAll(new ConnectionClosedError(message));
    this.#failHandles(message);
    const transport = this.#transport;
    this.#transport = null;
    void transport?.close();
  }

  #failHandles(message: string): void {
    const controls = [...this.#processes.values()];
    this.#processes.clear();
    this.#watchers.clear();
    for (const c of controls) c.fail(message);
  }

  #makeHost(): ProcessHost & FilesHost {
    const processes = this.#processes;
    const watchers = this.#watchers;
    const maxReorderGap = this.#maxReorderGap;
    const maxBufferedBytes = this.#maxBufferedBytes;
    const failure = () => this.#failure;
    return {
      call: (method, params, options) => this.call(method, params, options),
      get failure() {
        return failure();
      },
      maxReorderGap,
      maxBufferedBytes,
      register: (id, control) => void processes.set(id, control),
      unregister: (id, control) => {
        if (processes.get(id) === control) processes.delete(id);
      },
      watchListener: (id, listener) => {
        if (listener) watchers.set(id, listener);
        else watchers.delete(id);
      },
    };
  }
}
