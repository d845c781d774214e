// Copyright 2026 the exec-server authors. MIT license.
/**
 * The `exec-server` command line: `serve`, and the dispatch to the client
 * subcommands (`exec`, `call`, `mcp-bridge`), which load on first use.
 *
 * @module
 */
import { ConnectionClosedError } from "../client/errors.ts";
import { CliExit, parseFlags, positiveNumber, readTokenFile, UsageError } from "./flags.ts";
import { createLogger, type LogLevel, messageOf, VERSION } from "../util/mod.ts";
import { createServerCore } from "../server/core.ts";
import { DEFAULT_SESSION_TTL_MS } from "../server/session.ts";
import { isLoopback, parseListenUrl } from "../server/listen.ts";
import { serveStdio } from "../server/stdio_server.ts";
// The WebSocket server loads only for a WebSocket --listen: the stdio path never pulls it in.
import type { ExecServer, ExecServerOptions } from "../server/ws_server.ts";

/**
 * This program's entry, for the ssh installer's payload: the checkout's
 * main.ts when running from source, else the bundle this code is part of
 * (every module of a bundle shares its import.meta.url).
 */
function programEntry(): URL {
  return import.meta.url.endsWith("/lib/cli/main.ts")
    ? new URL("../../main.ts", import.meta.url)
    : new URL(import.meta.url);
}

const MAIN_HELP =
  `exec-server ${VERSION}: run processes and files on this machine for remote clients,
over one WebSocket (codex exec-server protocol).

Usage:
  exec-server serve [flags]                 start the server
  exec-server exec [flags] CMD [ARG...]     run CMD on a server, like "ssh host cmd"
  exec-server cp [flags] SOURCE DEST        copy a file to or from a server (:/remote/path)
  exec-server call [flags] METHOD [JSON]    send one request and print the result
  exec-server mcp-bridge [flags] CMD ...    run a remote MCP stdio server as if it were local
  exec-server --help                        this text
  exec-server --version                     print the version

Connect with --url ws://HOST:PORT (a running server) or --ssh [USER@]HOST (no server needed
there: it is installed into the host's cache on first use). Every subcommand has --help.

Exit status of exec: the remote command's own; 127 not found, 126 not executable, 124 timed
out, 2 usage, 255 connection failures only (exec --help has the details).
`;

const SERVE_HELP = `Usage: exec-server serve [flags]

Starts the server. The first line on stdout is the bound URL (e.g. ws://127.0.0.1:43123)
and nothing else is written to stdout; logs go to stderr. SIGTERM or SIGINT shuts down
gracefully: every process group is terminated and sockets close with code 1001.

Listening
  --listen URL             ws://IP:PORT to bind (default ws://127.0.0.1:0: loopback, any free port),
                           or stdio: newline-delimited JSON-RPC on stdin/stdout, one session that
                           ends (terminating its processes) when stdin closes, e.g. over ssh;
                           wss://IP:PORT is accepted with --tls-cert and --tls-key
  --tls-cert FILE          PEM certificate chain; with --tls-key serves wss://
  --tls-key FILE           PEM private key for --tls-cert

Access
  --token-file PATH        require "Authorization: Bearer <token>" (or WebSocket subprotocol
                           "bearer.<token>") on upgrade; the token is the file's first line.
                           The environment variable EXEC_SERVER_TOKEN works too.
  --allow-origin ORIGIN    let browser pages from ORIGIN connect (exact match; repeatable).
                           Any other upgrade carrying an Origin header gets 403.
  --insecure-no-auth       allow a non-loopback --listen without a token (not recommended)

Sessions and processes
  --session-ttl SECONDS    how long a disconnected session keeps its processes (default 80,
                           beyond the codex client's 45 s of reconnecting; decimals allowed)
  --retained-bytes N       output bytes retained per process, oldest evicted first (default 1048576)
  --exited-retention SECONDS
                           how long a finished process stays readable (default 30)
  --kill-grace SECONDS     SIGTERM → SIGKILL grace for terminate and teardown (default 2)

Files
  --fs-root DIR            confine every fs/* call to DIR (repeatable); paths are resolved
                           component by component, so symlinks and .. cannot escape.
                           Default: the whole filesystem (as the server's user)

Limits
  --max-message-bytes N    largest inbound message; bigger ones close the socket with 1009
                           (default 16777216)
  --max-connections N      concurrent WebSocket connections (default 256)
  --max-sessions N         live sessions (default 1024)
  --max-processes N        processes per session, finished ones included until their
                           retention ends (default 1024)
  --ping-interval SECONDS  keepalive ping; a peer silent this long is dropped (default 30)

Other
  --log-level LEVEL        debug, info, warn, error or silent (default info; warn for stdio)
  -h, --help               this text
`;

function positiveInt(
  flag: string,
  value: string | undefined,
  fallback: number,
): number {
  const n = positiveNumber(flag, value, fallback);
  if (!Number.isInteger(n)) {
    throw new UsageError(`${flag} must be a whole number, got ${value}`);
  }
  return n;
}

/** Parses `serve` flags into server options (reading the token and TLS files). */
async function parseServeArgs(
  args: string[],
  env: Record<string, string | undefined>,
): Promise<
  { help: true } | {
    help: false;
    options: ExecServerOptions;
    warnings: string[];
  }
> {
  const parsed = parseFlags({
    args,
    strict: true,
    allowPositionals: false,
    options: {
      "listen": { type: "string" },
      "tls-cert": { type: "string" },
      "tls-key": { type: "string" },
      "token-file": { type: "string" },
      "allow-origin": { type: "string", multiple: true },
      "insecure-no-auth": { type: "boolean" },
      "session-ttl": { type: "string" },
      "retained-bytes": { type: "string" },
      "exited-retention": { type: "string" },
      "kill-grace": { type: "string" },
      "max-message-bytes": { type: "string" },
      "max-connections": { type: "string" },
      "max-sessions": { type: "string" },
      "max-processes": { type: "string" },
      "ping-interval": { type: "string" },
      "fs-root": { type: "string", multiple: true },
      "log-level": { type: "string" },
      "help": { type: "boolean", short: "h" },
    },
  });
  const v = parsed.values;
  if (v.help) return { help: true };
  const warnings: string[] = [];
  const hasTls = v["tls-cert"] !== undefined || v["tls-key"] !== undefined;
  let listen = v.listen ?? "ws://127.0.0.1:0";
  if (listen.startsWith("wss://")) {
    if (!hasTls) {
      throw new UsageError(`--listen ${listen} needs --tls-cert and --tls-key`);
    }
    listen = `ws://${listen.slice(6)}`;
  }
  const stdio = listen === "stdio" || listen === "stdio://";
  let hostname = "stdio";
  if (stdio) {
    listen = "stdio";
    if (hasTls) throw new UsageError("--tls-cert and --tls-key do not apply to --listen stdio");
  } else {
    try {
      hostname = parseListenUrl(listen).hostname;
    } catch (err) {
      throw new UsageError(messageOf(err));
    }
  }
  let token: string | null = null;
  if (v["token-file"] !== undefined) {
    const file = await readTokenFile(v["token-file"]);
    token = file.token;
    if (file.warning) warnings.push(file.warning);
  } else if (env.EXEC_SERVER_TOKEN) {
    token = env.EXEC_SERVER_TOKEN;
  }
  if (token !== null && token.length < 16) {
    warnings.push(
      "WARNING: the token is shorter than 16 characters; generate one with `openssl rand -hex 32`",
    );
  }
  if (!stdio && !isLoopback(hostname) && token === null) {
    if (!v["insecure-no-auth"]) {
      throw new UsageError(
        `refusing to listen on non-loopback address ${hostname} without a token: anyone who can ` +
          `reach it could run commands as this user. Set --token-file or EXEC_SERVER_TOKEN, ` +
          `or pass --insecure-no-auth to accept the risk`,
      );
    }
    warnings.push(
      `WARNING: listening on ${hostname} without a token (--insecure-no-auth): anyone who can reach this port can run commands`,
    );
  }
  let tls: { cert: string; key: string } | null = null;
  if ((v["tls-cert"] === undefined) !== (v["tls-key"] === undefined)) {
    throw new UsageError("--tls-cert and --tls-key must be given together");
  }
  if (v["tls-cert"] !== undefined && v["tls-key"] !== undefined) {
    try {
      tls = {
        cert: await Deno.readTextFile(v["tls-cert"]),
        key: await Deno.readTextFile(v["tls-key"]),
      };
    } catch (err) {
      throw new UsageError(`cannot read TLS files: ${messageOf(err)}`);
    }
  }
  // Over stdio (usually ssh) logs reach the user's terminal: only warnings by default.
  const level = v["log-level"] ?? (stdio ? "warn" : "info");
  if (!["debug", "info", "warn", "error", "silent"].includes(level)) {
    throw new UsageError(
      `--log-level must be debug, info, warn, error or silent, got ${level}`,
    );
  }
  return {
    help: false,
    warnings,
    options: {
      listen,
      tls,
      token,
      allowOrigins: v["allow-origin"] ?? [],
      fsRoots: v["fs-root"] ?? [],
      sessionTtlMs: positiveNumber(
        "--session-ttl",
        v["session-ttl"],
        DEFAULT_SESSION_TTL_MS / 1000,
      ) * 1000,
      retainedBytes: positiveInt(
        "--retained-bytes",
        v["retained-bytes"],
        1024 * 1024,
      ),
      exitedRetentionMs: positiveNumber("--exited-retention", v["exited-retention"], 30) * 1000,
      killGraceMs: positiveNumber("--kill-grace", v["kill-grace"], 2) * 1000,
      maxMessageBytes: positiveInt(
        "--max-message-bytes",
        v["max-message-bytes"],
        16 * 1024 * 1024,
      ),
      maxConnections: positiveInt(
        "--max-connections",
        v["max-connections"],
        256,
      ),
      maxSessions: positiveInt("--max-sessions", v["max-sessions"], 1024),
      maxProcesses: positiveInt("--max-processes", v["max-processes"], 1024),
      pingSeconds: positiveNumber("--ping-interval", v["ping-interval"], 30),
      logger: createLogger(level as LogLevel, (l) => console.error(l)),
    },
  };
}

async function serve(args: string[]): Promise<number> {
  const parsed = await parseServeArgs(args, Deno.env.toObject());
  if (parsed.help) {
    console.log(SERVE_HELP);
    return 0;
  }
  // Children must not inherit the token, whatever their envPolicy says.
  Deno.env.delete("EXEC_SERVER_TOKEN");
  for (const w of parsed.warnings) console.error(w);
  if (parsed.options.listen === "stdio") return await serveOverStdio(parsed.options);
  let server: ExecServer;
  try {
    const { ExecServer } = await import("../server/ws_server.ts");
    server = await ExecServer.start(parsed.options);
  } catch (err) {
    const message = messageOf(err);
    const busy = /address already in use|AddrInUse|os error 98/i.test(message);
    console.error(
      busy
        ? `exec-server: cannot listen on ${parsed.options.listen}: the address is already in ` +
          `use (another server?). Pick another port with --listen ws://IP:PORT, or port 0 for ` +
          `any free one`
        : `exec-server: cannot start the server on ${parsed.options.listen}: ${message}`,
    );
    return 1;
  }
  console.log(server.url);
  const stopped = Promise.withResolvers<string>();
  const onSignal = (name: string) => () => stopped.resolve(name);
  const term = onSignal("SIGTERM");
  const int = onSignal("SIGINT");
  Deno.addSignalListener("SIGTERM", term);
  Deno.addSignalListener("SIGINT", int);
  const signal = await stopped.promise;
  Deno.removeSignalListener("SIGTERM", term);
  Deno.removeSignalListener("SIGINT", int);
  console.error(`received ${signal}: shutting down`);
  await server.close();
  return 0;
}

/** `serve --listen stdio`: one session on stdin/stdout until stdin closes (or a signal). */
async function serveOverStdio(options: ExecServerOptions): Promise<number> {
  const core = createServerCore(options);
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  Deno.addSignalListener("SIGTERM", onSignal);
  Deno.addSignalListener("SIGINT", onSignal);
  try {
    await serveStdio(core, { signal: stop.signal });
  } finally {
    Deno.removeSignalListener("SIGTERM", onSignal);
    Deno.removeSignalListener("SIGINT", onSignal);
    await core.registry.shutdown();
  }
  return 0;
}

/** The subcommands, for dispatch and for the usage hint. */
const COMMANDS = ["serve", "exec", "cp", "call", "mcp-bridge"] as const;

/** Runs the CLI with `args`; resolves to the exit code. */
export async function main(args: string[]): Promise<number> {
  const [command, ...rest] = args;
  try {
    switch (command) {
      case "serve":
        return await serve(rest);
      case "exec":
        // Client subcommands load lazily, so `serve` does not pay for them in memory.
        return await (await import("./exec.ts")).execMain(rest, programEntry());
      case "cp":
        return await (await import("./cp.ts")).cpMain(rest, programEntry());
      case "call":
        return await (await import("./call.ts")).callMain(rest, programEntry());
      case "mcp-bridge":
        return await (await import("./mcp.ts")).mcpBridgeMain(rest, programEntry());
      case "--version":
      case "-V":
        console.log(VERSION);
        return 0;
      case undefined:
      case "--help":
      case "-h":
      case "help":
        console.log(MAIN_HELP);
        return command === undefined ? 2 : 0;
      default:
        throw new UsageError(
          `unknown command ${JSON.stringify(command)}; the commands are ${COMMANDS.join(", ")}`,
        );
    }
  } catch (err) {
    if (err instanceof UsageError) {
      const known = (COMMANDS as readonly string[]).includes(command ?? "");
      const help = known ? `${command} --help` : "--help";
      console.error(`exec-server: ${err.message}\nRun "exec-server ${help}" for usage.`);
      return 2;
    }
    if (err instanceof CliExit) {
      console.error(`exec-server: ${err.message}`);
      return err.code;
    }
    if (
      err instanceof ConnectionClosedError ||
      (err instanceof Error && (err.name === "ExecServerError" || err.name === "ProtocolError"))
    ) {
      // Like ssh: 255 when the remote side could not run the request at all.
      console.error(`exec-server: ${err.message}`);
      return 255;
    }
    throw err;
  }
}
