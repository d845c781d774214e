// Copyright 2026 the exec-server authors. MIT license.
/**
 * The client side of the stdio transport: starts a command (typically
 * `ssh host exec-server serve --listen stdio`) and speaks newline-delimited
 * JSON-RPC over its stdin and stdout. Works under Deno and Node.
 *
 * @module
 */
import { spawn } from "node:child_process";
import { ConnectionClosedError } from "./errors.ts";
import { ExecServerClient } from "./client.ts";
import type { ExecServerClientOptions } from "./options.ts";
import type { ClientTransport, TransportConnector } from "./transport.ts";
import { type Line, LineSplitter } from "../util/mod.ts";

/** Options for {@linkcode stdioConnector}. */
export interface StdioConnectorOptions {
  /** What to do with the command's stderr (its logs). @default {"inherit"} */
  stderr?: "inherit" | "ignore";
  /** How long {@linkcode ClientTransport.close} waits for the command to exit before SIGTERM. @default {5000} */
  exitTimeoutMs?: number;
}

/**
 * A connector that runs `command` and talks to its stdin/stdout.
 *
 * @example
 * ```ts
 * import { stdioConnector } from "./stdio.ts";
 * const connect = stdioConnector(["ssh", "build-host", "exec-server", "serve", "--listen", "stdio"]);
 * console.assert(typeof connect === "function");
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
      let started = false;
      let closed = false;
      let exited: Promise<void> | null = null;
      const exit = new Promise<void>((r) => child.once("close", () => r()));
      const finish = (reason?: string) => {
        if (closed) return;
        closed = true;
        handlers.close(reason);
      };
      const onAbort = () => {
        child.kill("SIGTERM");
        reject(signal.reason ?? new ConnectionClosedError("Cannot connect over stdio: aborted"));
      };
      signal.addEventListener("abort", onAbort, { once: true });
      child.once("error", (err: Error) => {
        signal.removeEventListener("abort", onAbort);
        if (!started) {
          reject(new ConnectionClosedError(`Cannot start ${program}: ${err.message}`));
        }
        finish(err.message);
      });
      child.once("close", (code: number | null, sig: string | null) => {
        finish(`${program} exited (${sig ?? `code ${code}`})`);
      });
      const decoder = new TextDecoder();
      const splitter = new LineSplitter();
      const deliver = (lines: Line[]) => {
        for (const line of lines) {
          const text = decoder.decode(line as Uint8Array); // no limit: never too long
          if (text.trim() !== "") handlers.message(text);
        }
      };
      child.stdout!.on("data", (chunk: Uint8Array) => deliver(splitter.push(chunk)));
      child.stdout!.once("end", () => deliver(splitter.end()));
      child.stdin!.on("error", () => {}); // EPIPE after the command died; close reports it
      child.once("spawn", () => {
        started = true;
        signal.removeEventListener("abort", onAbort);
        resolve({
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
        });
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
  const { stderr, exitTimeoutMs, ...rest } = options;
  const connector: StdioConnectorOptions = {};
  if (stderr !== undefined) connector.stderr = stderr;
  if (exitTimeoutMs !== undefined) connector.exitTimeoutMs = exitTimeoutMs;
  return ExecServerClient.connect({
    ...rest,
    transport: stdioConnector(command, connector),
    autoResume: false,
  });
}
