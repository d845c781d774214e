// Copyright 2026 the exec-server authors. MIT license.
/**
 * The benchmarks' client: {@linkcode RawClient} plus per-process callbacks
 * for output (decoded from base64 or a binary frame), exit and close, and
 * the helpers that start a process and wait for it.
 *
 * @module
 */
import {
  type Message,
  openWebSocket,
  type OutputFrame,
  RawClient,
  startParams,
} from "./raw_client.ts";

export { ResponseError } from "./raw_client.ts";

/**
 * The working directory of every process the bench starts, as a `file://`
 * URI: codex's server takes nothing else, and ours takes both forms, so the
 * two get the same request.
 */
export const BENCH_CWD = "file:///tmp";

/**
 * `process/start` params as the bench sends them to every server:
 * {@linkcode startParams} with `cwd` as {@linkcode BENCH_CWD}.
 */
export function benchStartParams(
  processId: string,
  argv: string[],
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return startParams(processId, argv, { cwd: BENCH_CWD, ...extra });
}

/** What the bench wants to hear about one process. */
export interface ProcessListener {
  /** Output bytes arrived (already decoded from base64 or a binary frame). */
  output?: (data: Uint8Array, seq: number) => void;
  /** `process/exited`. */
  exited?: (exitCode: number, signal: string | null) => void;
  /** `process/closed`. */
  closed?: () => void;
}

/** One connection to an exec-server, with callbacks by process id. */
export class BenchClient extends RawClient {
  readonly #listeners = new Map<string, ProcessListener>();

  /** Connects and (unless told otherwise) sends `initialize` and `initialized`. */
  static async connect(
    url: string,
    options: { binaryOutput?: boolean; initialize?: boolean; timeoutMs?: number } = {},
  ): Promise<BenchClient> {
    const ws = await openWebSocket(url, { timeoutMs: options.timeoutMs ?? 10_000 });
    const client = new BenchClient(ws, "bench");
    if (options.initialize !== false) await client.initialize(undefined, options.binaryOutput);
    return client;
  }

  protected override onOutput(frame: OutputFrame): void {
    this.#listeners.get(frame.processId)?.output?.(frame.data, frame.seq);
  }

  protected override onNotification(msg: Message): void {
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
  client.request("process/start", benchStartParams(processId, argv, options.extra), timeoutMs)
    .then(
      () => options.onStarted?.(),
      (err) => {
        clearTimeout(timer);
        client.unlisten(processId);
        reject(err);
      },
    );
  return promise;
}
