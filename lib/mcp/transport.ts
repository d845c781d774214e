// Copyright 2026 the exec-server authors. MIT license.
/**
 * An MCP TypeScript SDK `Transport` that runs an MCP stdio server through an
 * exec-server: the server is started with `process/start` (tty false, stdin
 * piped), each JSON-RPC message goes out as one line through `process/write`,
 * and stdout lines come back from the process's pushed events. It inherits
 * the client's auto-resume, so a dropped connection loses and repeats no
 * message.
 *
 * @module
 */
import type { ExecServerClient } from "../client/client.ts";
import type { ProcessHandle } from "../client/process.ts";
import { type McpServerConfig, mcpStartParams } from "./config.ts";
import { type Line, LineSplitter } from "../util/mod.ts";

/**
 * A JSON-RPC 2.0 message as MCP exchanges it: a request (`id` and `method`),
 * a notification (`method`), a result (`id` and `result`) or an error (`id`
 * and `error`). The MCP SDK's `JSONRPCMessage` is one of these, so the
 * transport is the SDK's `Transport` without importing the SDK.
 */
export interface JsonRpcMessage {
  /** Always `"2.0"`. */
  jsonrpc: "2.0";
  /** The request id (absent in a notification). */
  id?: string | number | undefined;
  /** The method of a request or notification. */
  method?: string | undefined;
  /** Its params. */
  params?: { [key: string]: unknown } | undefined;
  /** A successful response's result. */
  result?: { [key: string]: unknown } | undefined;
  /** A failed response's error. */
  error?: { code: number; message: string; data?: unknown } | undefined;
}

/**
 * `value` as a JSON-RPC 2.0 message (a request, notification, result or
 * error, as MCP sends them), or a TypeError saying what is wrong.
 */
function asJsonRpcMessage(value: unknown): JsonRpcMessage {
  const m = value as Record<string, unknown> | null;
  if (typeof m !== "object" || m === null || Array.isArray(m)) {
    throw new TypeError("not a JSON object");
  }
  if (m.jsonrpc !== "2.0") throw new TypeError('jsonrpc must be "2.0"');
  const hasId = typeof m.id === "string" || (typeof m.id === "number" && Number.isInteger(m.id));
  if ("method" in m) {
    if (typeof m.method !== "string") throw new TypeError("method must be a string");
    if (m.params !== undefined && (typeof m.params !== "object" || m.params === null)) {
      throw new TypeError("params must be an object");
    }
    if ("id" in m && !hasId) throw new TypeError("id must be a string or an integer");
    return m as unknown as JsonRpcMessage;
  }
  if (!hasId) throw new TypeError("a response needs a string or integer id");
  if ("result" in m && typeof m.result === "object" && m.result !== null) {
    return m as unknown as JsonRpcMessage;
  }
  const e = m.error as Record<string, unknown> | undefined;
  if (
    typeof e === "object" && e !== null && Number.isInteger(e.code) && typeof e.message === "string"
  ) {
    return m as unknown as JsonRpcMessage;
  }
  throw new TypeError("neither a request, a notification, a result nor an error");
}

/** Options for {@linkcode ExecutorStdioTransport}. */
export interface ExecutorStdioTransportOptions {
  /** The process id to use. @default {`mcp-stdio-<uuid>`} */
  processId?: string;
  /** Where `local` envVars are read. @default {Deno.env.toObject() or process.env} */
  localEnv?: Record<string, string | undefined>;
  /** Receives the server's stderr, decoded, as it arrives. @default {ignored} */
  onStderr?: (text: string) => void;
  /**
   * The longest line (one message) the server may write, in bytes. A longer
   * one is dropped as it arrives, without being held, and reported to
   * `onerror`; the messages after it are delivered. @default {64 MiB}
   */
  maxLineBytes?: number;
}

/** The default {@linkcode ExecutorStdioTransportOptions.maxLineBytes}. */
const MAX_LINE_BYTES = 64 * 1024 * 1024;

function defaultLocalEnv(): Record<string, string | undefined> {
  const g = globalThis as { Deno?: { env: { toObject(): Record<string, string> } } };
  if (g.Deno) return g.Deno.env.toObject();
  const p = (globalThis as { process?: { env: Record<string, string | undefined> } }).process;
  return p?.env ?? {};
}

/**
 * Runs an MCP stdio server on the exec-server's host.
 *
 * @example
 * ```ts ignore
 * import { Client } from "npm:@modelcontextprotocol/sdk@^1.32.2/client/index.js";
 * const exec = await ExecServerClient.connect({ url });
 * const transport = new ExecutorStdioTransport(exec, { command: "node", args: ["server.js"], cwd: "/srv" });
 * const mcp = new Client({ name: "me", version: "1.0.0" });
 * await mcp.connect(transport);
 * console.log(await mcp.listTools());
 * ```
 */
export class ExecutorStdioTransport {
  /** Called when the server process is gone or the transport was closed. */
  onclose?: () => void;
  /** Called for unparseable lines, lost output and transport failures. */
  onerror?: (error: Error) => void;
  /** Called for every JSON-RPC message the server writes. */
  onmessage?: (message: JsonRpcMessage) => void;
  readonly #client: ExecServerClient;
  readonly #config: McpServerConfig;
  readonly #options: ExecutorStdioTransportOptions;
  readonly #decoder = new TextDecoder();
  readonly #stderrDecoder = new TextDecoder();
  #lines: LineSplitter;
  #handle: ProcessHandle | null = null;
  #pump: Promise<void> | null = null;
  #closed = false;

  /** Prepares the transport; {@linkcode start} launches the server. */
  constructor(
    client: ExecServerClient,
    config: McpServerConfig,
    options: ExecutorStdioTransportOptions = {},
  ) {
    this.#client = client;
    this.#config = config;
    this.#options = options;
    this.#lines = this.#splitter();
  }

  #splitter(): LineSplitter {
    return new LineSplitter({ maxLineBytes: this.#options.maxLineBytes ?? MAX_LINE_BYTES });
  }

  /** The process handle once started. */
  get process(): ProcessHandle | null {
    return this.#handle;
  }

  /** Starts the MCP server process and begins delivering its messages. */
  async start(): Promise<void> {
    if (this.#handle) throw new Error("Cannot start transport: it is already started");
    const processId = this.#options.processId ?? `mcp-stdio-${crypto.randomUUID()}`;
    const params = mcpStartParams(
      processId,
      this.#config,
      this.#options.localEnv ?? defaultLocalEnv(),
    );
    this.#handle = await this.#client.start({
      processId: params.processId,
      argv: params.argv,
      cwd: params.cwd,
      env: params.env,
      envPolicy: params.envPolicy,
      tty: false,
      pipeStdin: true,
      arg0: null,
    });
    this.#pump = this.#deliver(this.#handle).catch((err) => {
      this.#report(err);
      this.#finish();
    });
  }

  /** Hands an error to `onerror`; an `onerror` that throws is not our failure. */
  #report(err: unknown): void {
    try {
      this.onerror?.(err instanceof Error ? err : new Error(String(err)));
    } catch {
      // nothing sensible left to do
    }
  }

  /** Runs a user callback; what it throws goes to `onerror`, not to the event loop. */
  #call(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.#report(err);
    }
  }

  async #deliver(handle: ProcessHandle): Promise<void> {
    for await (const ev of handle.events()) {
      if (ev.type === "output") {
        if (ev.stream === "stderr") {
          const text = this.#stderrDecoder.decode(ev.data, { stream: true });
          this.#call(() => this.#options.onStderr?.(text));
        } else for (const line of this.#lines.push(ev.data)) this.#line(line);
      } else if (ev.type === "gap") {
        // The line in progress lost its middle: its head is dropped, so it
        // cannot join the tail that follows into a wrong message (the tail
        // alone is not JSON-RPC and goes to onerror).
        this.#lines = this.#splitter();
        this.#report(
          new Error(
            `MCP server output was lost: ${
              ev.bytes ?? "some"
            } bytes after seq ${ev.afterSeq} were evicted`,
          ),
        );
      } else if (ev.type === "failed") {
        this.#report(new Error(ev.message));
      }
    }
    // closed (or failed): deliver a final line without a newline, then report the end.
    for (const line of this.#lines.end()) this.#line(line);
    this.#finish();
  }

  #line(bytes: Line): void {
    if ("tooLong" in bytes) {
      const max = this.#options.maxLineBytes ?? MAX_LINE_BYTES;
      this.#report(
        new Error(
          `MCP server wrote a line of ${bytes.tooLong} bytes, more than the ${max} one message ` +
            "may take (maxLineBytes): it was dropped",
        ),
      );
      return;
    }
    const line = this.#decoder.decode(bytes);
    if (line.trim() === "") return;
    let message: JsonRpcMessage;
    try {
      message = asJsonRpcMessage(JSON.parse(line));
    } catch (err) {
      const shown = line.length > 200 ? `${line.slice(0, 200)}…` : line;
      this.#report(
        new Error(`MCP server wrote a line that is not a JSON-RPC message: ${shown}`, {
          cause: err,
        }),
      );
      return;
    }
    this.#call(() => this.onmessage?.(message));
  }

  #finish(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#call(() => this.onclose?.());
  }

  /** Sends one message as one line on the server's stdin. */
  async send(message: JsonRpcMessage): Promise<void> {
    const handle = this.#handle;
    if (!handle || this.#closed) throw new Error("Cannot send: the MCP transport is not open");
    const status = await handle.write(JSON.stringify(message) + "\n");
    if (status === "accepted") return;
    if (status === "starting") throw new Error("Cannot send: the MCP server is still starting");
    throw new Error(`Cannot send: the MCP server's stdin is closed (${status}): broken pipe`);
  }

  /** Terminates the server process and ends the transport. Idempotent. */
  async close(): Promise<void> {
    const handle = this.#handle;
    if (handle && !handle.finished) {
      await handle.terminate().catch(() => false);
      await this.#pump;
    }
    this.#finish();
  }
}
