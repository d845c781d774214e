// Copyright 2026 the exec-server authors. MIT license.
/**
 * A minimal raw WebSocket JSON-RPC client for the benchmarks (Deno's native
 * WebSocket, no library): requests with ids, and per-process callbacks for
 * output (JSON base64 or binary frames), exit and close.
 *
 * @module
 */

/** What the bench wants to hear about one process. */
export interface ProcessListener {
  /** Output bytes arrived (already decoded from base64 or a binary frame). */
  output?: (data: Uint8Array, seq: number) => void;
  /** `process/exited`. */
  exited?: (exitCode: number, signal: string | null) => void;
  /** `process/closed`. */
  closed?: () => void;
}

/** A JSON-RPC error answer. */
export class RpcCallError extends Error {
  /** The JSON-RPC error code. */
  readonly code: number;
  /** Creates it. */
  constructor(code: number, message: string) {
    super(message);
    this.name = "RpcCallError";
    this.code = code;
  }
}

type Pending = { resolve: (v: unknown) => void; reject: (e: Error) => void };

const HEADER = 12;
const utf8 = new TextDecoder();

/** One connection to an exec-server. */
export class BenchClient {
  /** Session id from `initialize`. */
  sessionId = "";
  /** Whether the server agreed to binary output frames. */
  binaryOutput = false;
  readonly #ws: WebSocket;
  readonly #pending = new Map<number, Pending>();
  readonly #listeners = new Map<string, ProcessListener>();
  readonly #closed: Promise<void>;
  #nextId = 1;

  private constructor(ws: WebSocket) {
    this.#ws = ws;
    ws.binaryType = "arraybuffer";
    this.#closed = new Promise((resolve) => {
      ws.addEventListener("close", () => {
        const err = new Error("connection closed");
        for (const p of this.#pending.values()) p.reject(err);
        this.#pending.clear();
        resolve();
      });
    });
    ws.addEventListener("message", (e) => this.#onMessage(e.data));
  }

  /** Connects and (unless told otherwise) sends `initialize` and `initialized`. */
  static async connect(
    url: string,
    options: { binaryOutput?: boolean; initialize?: boolean; timeoutMs?: number } = {},
  ): Promise<BenchClient> {
    const ws = new WebSocket(url);
    const timeoutMs = options.timeoutMs ?? 10_000;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        ws.close();
        reject(new Error(`Cannot connect to ${url}: no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      ws.onopen = () => {
        clearTimeout(timer);
        resolve();
      };
      ws.onerror = (e) => {
        clearTimeout(timer);
        reject(new Error(`Cannot connect to ${url}: ${(e as ErrorEvent).message ?? "error"}`));
      };
    });
    ws.onopen = null;
    ws.onerror = null;
    const client = new BenchClient(ws);
    if (options.initialize !== false) {
      const params: Record<string, unknown> = { clientName: "bench" };
      if (options.binaryOutput !== undefined) {
        params.capabilities = { binaryOutput: options.binaryOutput };
      }
      const result = await client.request("initialize", params, timeoutMs) as {
        sessionId: string;
        capabilities?: { binaryOutput?: boolean };
      };
      client.sessionId = result.sessionId;
      client.binaryOutput = result.capabilities?.binaryOutput === true;
      client.notify("initialized", {});
    }
    return client;
  }

  #onMessage(data: unknown): void {
    if (typeof data !== "string") {
      const frame = new Uint8Array(data as ArrayBuffer);
      if (frame.byteLength < HEADER || frame[0] !== 1) return;
      const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
      const idLen = view.getUint16(2);
      const id = utf8.decode(frame.subarray(HEADER, HEADER + idLen));
      const seq = view.getUint32(4) * 2 ** 32 + view.getUint32(8);
      this.#listeners.get(id)?.output?.(frame.subarray(HEADER + idLen), seq);
      return;
    }
    // deno-lint-ignore no-explicit-any
    const msg = JSON.parse(data) as any;
    if (msg.method === undefined) {
      const p = this.#pending.get(msg.id);
      if (!p) return;
      this.#pending.delete(msg.id);
      if (msg.error) p.reject(new RpcCallError(msg.error.code, msg.error.message));
      else p.resolve(msg.result);
      return;
    }
    const params = msg.params;
    const listener = params && this.#listeners.get(params.processId);
    if (!listener) return;
    switch (msg.method) {
      case "process/output":
        listener.output?.(Uint8Array.fromBase64(params.chunk), params.seq);
        break;
      case "process/exited":
        listener.exited?.(params.exitCode, params.signal ?? null);
        break;
      case "process/closed":
        this.#listeners.delete(params.processId);
        listener.closed?.();
        break;
    }
  }

  /** Registers callbacks for a process id (dropped after its `process/closed`). */
  listen(processId: string, listener: ProcessListener): void {
    this.#listeners.set(processId, listener);
  }

  /** Forgets a process id's callbacks. */
  unlisten(processId: string): void {
    this.#listeners.delete(processId);
  }

  /** Sends a request; resolves with its result, rejects on an error or timeout. */
  request(method: string, params: unknown, timeoutMs = 30_000): Promise<unknown> {
    const id = this.#nextId++;
    const { promise, resolve, reject } = Promise.withResolvers<unknown>();
    const timer = setTimeout(() => {
      if (this.#pending.delete(id)) {
        reject(new Error(`${method} got no answer within ${timeoutMs} ms`));
      }
    }, timeoutMs);
    this.#pending.set(id, {
      resolve: (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      reject: (e) => {
        clearTimeout(timer);
        reject(e);
      },
    });
    try {
      this.#ws.send(JSON.stringify({ id, method, params }));
    } catch (err) {
      this.#pending.delete(id);
      clearTimeout(timer);
      reject(err as Error);
    }
    return promise;
  }

  /** Sends a notification. */
  notify(method: string, params: unknown): void {
    this.#ws.send(JSON.stringify({ method, params }));
  }

  /** Bytes the client has queued but not sent. */
  get bufferedAmount(): number {
    return this.#ws.bufferedAmount;
  }

  /** Closes the socket and waits (bounded) for the close. */
  async close(timeoutMs = 5000): Promise<void> {
    if (this.#ws.readyState <= WebSocket.OPEN) this.#ws.close();
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      this.#closed,
      new Promise<void>((r) => timer = setTimeout(r, timeoutMs)),
    ]);
    clearTimeout(timer);
  }
}

/** `process/start` params for a piped (or terminal) process with defaults. */
export function startParams(
  processId: string,
  argv: string[],
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    processId,
    argv,
    cwd: "/tmp",
    env: { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin" },
    tty: false,
    ...extra,
  };
}

/**
 * Starts a process and resolves once `process/closed` arrives, with the
 * output byte count and the exit code; rejects on an error or timeout.
 */
export function runRemote(
  client: BenchClient,
  processId: string,
  argv: string[],
  options: { extra?: Record<string, unknown>; timeoutMs?: number; onStarted?: () => void } = {},
): Promise<{ bytes: number; exitCode: number | null }> {
  const { promise, resolve, reject } = Promise.withResolvers<
    { bytes: number; exitCode: number | null }
  >();
  let bytes = 0;
  let exitCode: number | null = null;
  const timeoutMs = options.timeoutMs ?? 30_000;
  const timer = setTimeout(() => {
    client.unlisten(processId);
    reject(new Error(`process ${processId} did not close within ${timeoutMs} ms`));
  }, timeoutMs);
  client.listen(processId, {
    output: (data) => {
      bytes += data.byteLength;
    },
    exited: (code) => {
      exitCode = code;
    },
    closed: () => {
      clearTimeout(timer);
      resolve({ bytes, exitCode });
    },
  });
  client.request("process/start", startParams(processId, argv, options.extra), timeoutMs).then(
    () => options.onStarted?.(),
    (err) => {
      clearTimeout(timer);
      client.unlisten(processId);
      reject(err);
    },
  );
  return promise;
}
