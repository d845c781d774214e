// Copyright 2026 the exec-server authors. MIT license.
/**
 * The client side of the stdio transport: starts a command (typically
 * `ssh host exec-server serve --listen stdio`) and speaks newline-delimited
 * JSON-RPC over its stdin and stdout. Works under Deno and Node.
 *
 * A connector may run a preamble first (the ssh connector installs the
 * server that way): it reads the command's first stdout lines and writes raw
 * bytes to its stdin, and JSON-RPC starts once it resolves.
 *
 * @module
 */
import { spawn } from "node:child_process";
import { ConnectionClosedError } from "./errors.ts";
import { ExecServerClient } from "./client.ts";
import type { ExecServerClientOptions } from "./options.ts";
import type { ClientTransport, TransportConnector } from "./transport.ts";
import { type Line, LineSplitter } from "../util/mod.ts";

/**
 * What a preamble can do with the command before JSON-RPC starts.
 *
 * @example A preamble that waits for a greeting
 * ```ts
 * import type { PreambleIo } from "./stdio.ts";
 * async function waitForHello(io: PreambleIo): Promise<void> {
 *   for (;;) {
 *     const line = await io.nextLine();
 *     if (line === null) throw new Error("the command ended before saying hello");
 *     if (line === "hello") return;
 *   }
 * }
 * void waitForHello;
 * ```
 */
export interface PreambleIo {
  /** The next stdout line (without `\n`), or null once stdout has ended. */
  nextLine(): Promise<string | null>;
  /** Writes bytes to the command's stdin; resolves once they are handed to the OS. */
  write(bytes: Uint8Array): Promise<void>;
}

/** Options for {@linkcode stdioConnector}. */
export interface StdioConnectorOptions {
  /** What to do with the command's stderr (its logs). @default {"inherit"} */
  stderr?: "inherit" | "ignore";
  /** How long {@linkcode ClientTransport.close} waits for the command to exit before SIGTERM. @default {5000} */
  exitTimeoutMs?: number;
  /**
   * Runs before JSON-RPC starts, with the command's stdout lines and stdin;
   * when it rejects, the command is stopped and the connect fails with its
   * error. @default {undefined}
   */
  preamble?: (io: PreambleIo) => Promise<void>;
  /**
   * The longest line (one message) the command may write, in bytes. A longer
   * one is not held: the command is stopped and the connection closes (or
   * the connect fails) saying so. @default {64 MiB}
   */
  maxLineBytes?: number;
}

/** The default {@linkcode StdioConnectorOptions.maxLineBytes}. */
const MAX_LINE_BYTES = 64 * 1024 * 1024;

/**
 * A connector that runs `command` and talks to its stdin/stdout.
 *
 * @example
 * ```ts
 * import { stdioConnector } from "./stdio.ts";
 * import assert from "node:assert/strict";
 * const connect = stdioConnector(["ssh", "build-host", "exec-server", "serve", "--listen", "stdio"]);
 * assert.equal(typeof connect, "function");
 * assert.throws(() => stdioConnector([]), TypeError);
 * ```
 */
export function stdioConnector(
  command: string[],
  options: StdioConnectorOptions = {},
): TransportConnector {
  if (command.length === 0) throw new TypeError("Cannot connect over stdio: the command is empty");
  const [program, ...args] = command as [string, ...string[]];
  return (handlers, signal) =>
    new Promise<ClientTransport>((resolve, reject) => {
      const child = spawn(program, args, { stdio: ["pipe", "pipe", options.stderr ?? "inherit"] });
      let settled = false;
      let closed = false;
      let exited: Promise<void> | null = null;
      let exitReason = "";
      const exit = new Promise<void>((r) => child.once("close", () => r()));
      const fail = (err: unknown) => {
        if (settled) return;
        settled = true;
        signal.removeEventListener("abort", onAbort);
        child.kill("SIGTERM");
        reject(err);
      };
      const finish = (reason: string) => {
        exitReason ||= reason;
        if (!settled) {
          return fail(new ConnectionClosedError(`Cannot connect over stdio: ${reason}`));
        }
        if (closed) return;
        closed = true;
        handlers.close(reason);
      };
      const onAbort = () =>
        fail(signal.reason ?? new ConnectionClosedError("Cannot connect over stdio: aborted"));
      signal.addEventListener("abort", onAbort, { once: true });
      child.once("error", (err: Error) => {
        finish(`cannot start ${program}: ${err.message}`);
      });
      child.once("close", (code: number | null, sig: string | null) => {
        finish(`${program} exited (${sig ?? `code ${code}`})`);
      });

      // stdout lines go to the preamble until it is done, then to the client.
      const decoder = new TextDecoder();
      const maxLineBytes = options.maxLineBytes ?? MAX_LINE_BYTES;
      const splitter = new LineSplitter({ maxLineBytes });
      let rpc = false;
      const early: string[] = [];
      let waiting: ((line: string | null) => void) | null = null;
      let ended = false;
      const deliver = (lines: Line[]) => {
        for (const line of lines) {
          if (exitReason) return; // stopped: nothing more is taken from it
          if (!(line instanceof Uint8Array)) {
            // Skipping it could drop a response and leave a call waiting forever.
            child.kill("SIGTERM");
            return finish(
              `${program} wrote a line longer than the ${maxLineBytes} bytes one message may ` +
                "take (maxLineBytes)",
            );
          }
          const text = decoder.decode(line);
          if (rpc) {
            if (text.trim() !== "") handlers.message(text);
          } else if (waiting) {
            const w = waiting;
            waiting = null;
            w(text);
          } else early.push(text);
        }
      };
      child.stdout!.on("data", (chunk: Uint8Array) => {
        deliver(splitter.push(chunk));
        // An endless line ends the connection as soon as it is too long.
        if (splitter.overLimit) deliver([{ tooLong: maxLineBytes + 1 }]);
      });
      child.stdout!.once("end", () => {
        deliver(splitter.end());
        ended = true;
        waiting?.(null);
        waiting = null;
      });
      child.stdin!.on("error", () => {}); // EPIPE after the command died; close reports it
      const io: PreambleIo = {
        nextLine: () => {
          if (early.length > 0) return Promise.resolve(early.shift()!);
          if (ended) return Promise.resolve(null);
          return new Promise((r) => waiting = r);
        },
        write: (bytes) =>
          new Promise<void>((done, failed) => {
            if (exitReason) {
              return failed(new ConnectionClosedError(`Cannot send: ${exitReason}`));
            }
            child.stdin!.write(bytes, (err) => err ? failed(err) : done());
          }),
      };
      const transport: ClientTransport = {
        binary: false,
        send(text) {
          if (closed) throw new ConnectionClosedError(`Cannot send: ${program} has exited`);
          child.stdin!.write(text + "\n");
        },
        close() {
          exited ??= (async () => {
            child.stdin!.end();
            const timer = setTimeout(() => child.kill("SIGTERM"), options.exitTimeoutMs ?? 5000);
            await exit;
            clearTimeout(timer);
          })();
          return exited;
        },
      };
      child.once("spawn", async () => {
        try {
          await options.preamble?.(io);
        } catch (err) {
          return fail(err);
        }
        if (settled) return;
        settled = true;
        signal.removeEventListener("abort", onAbort);
        rpc = true;
        const pending = early.splice(0);
        for (const text of pending) if (text.trim() !== "") handlers.message(text);
        resolve(transport);
        if (exitReason && !closed) {
          closed = true;
          handlers.close(exitReason);
        }
      });
    });
}

/**
 * Connects a client over a command's stdio, e.g.
 * `connectStdio(["ssh", "host", "exec-server", "serve", "--listen", "stdio"])`.
 * The session lives as long as the command: there is no resume.
 *
 * @example
 * ```ts ignore
 * await using client = await connectStdio(["ssh", "build-host", "exec-server", "serve", "--listen", "stdio"]);
 * console.log(new TextDecoder().decode((await client.exec(["uname", "-a"])).stdout));
 * ```
 */
export function connectStdio(
  command: string[],
  options:
    & Omit<ExecServerClientOptions, "url" | "transport" | "autoResume">
    & StdioConnectorOptions = {},
): Promise<ExecServerClient> {
  const { stderr, exitTimeoutMs, preamble, maxLineBytes, ...rest } = options;
  const connector: StdioConnectorOptions = {};
  if (stderr !== undefined) connector.stderr = stderr;
  if (exitTimeoutMs !== undefined) connector.exitTimeoutMs = exitTimeoutMs;
  if (preamble !== undefined) connector.preamble = preamble;
  if (maxLineBytes !== undefined) connector.maxLineBytes = maxLineBytes;
  return ExecServerClient.connect({
    ...rest,
    transport: stdioConnector(command, connector),
    autoResume: false,
  });
}
