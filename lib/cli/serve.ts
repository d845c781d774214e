// Copyright 2026 the exec-server authors. MIT license.
/**
 * `exec-server serve`: its flags, which are also a drop-in for the command
 * line of codex 0.171's `codex exec-server` (`--listen`, `--ws-auth
 * capability-token|signed-bearer-token` with their files and claims,
 * `--concurrent-requests`), with codex's refusals, and the server's run
 * until a signal or the end of stdin.
 *
 * @module
 */
import { parseFlags, positiveNumber, readTokenFile, UsageError } from "./flags.ts";
import { createLogger, type LogLevel, messageOf, sha256Hex } from "../util/mod.ts";
import { startContainment } from "../server/containment.ts";
import { isLoopback, parseListenUrl } from "../server/listen.ts";
import { SERVE_SANDBOX_FLAGS, SERVE_SANDBOX_HELP, serveSandboxOptions } from "./serve_sandbox.ts";
import { DEFAULT_MAX_CLOCK_SKEW_SECONDS, type WsAuth } from "../server/auth.ts";
// The WebSocket server loads only for a WebSocket --listen: the stdio path never pulls it in.
import type { ExecServer, ExecServerOptions } from "../server/ws_server.ts";

/**
 * The default of `--session-ttl`: the core's (`DEFAULT_SESSION_TTL_MS` in
 * lib/server/session.ts, which a test keeps equal), here so that parsing the
 * flags does not load the core.
 */
export const DEFAULT_SESSION_TTL_SECONDS = 80;

const SERVE_HELP = `Usage: exec-server serve [flags]

Starts the server. The first line on stdout is the bound URL (e.g. ws://127.0.0.1:43123)
and nothing else is written to stdout; logs go to stderr. SIGTERM or SIGINT shuts down
gracefully: every process tree is terminated and sockets close with code 1001.

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

Access, as codex exec-server has it (instead of --token-file)
  --ws-auth MODE           capability-token or signed-bearer-token
  --ws-token-file PATH     capability-token: the token is this file's content, trimmed
  --ws-token-sha256 HEX    capability-token: the token's SHA-256 instead (64 hex digits)
  --ws-shared-secret-file PATH
                           signed-bearer-token: HS256 secret (the file's content, trimmed,
                           at least 32 bytes); "Authorization: Bearer <JWT>" with an exp
  --ws-issuer ISSUER       signed-bearer-token: required iss
  --ws-audience AUDIENCE   signed-bearer-token: required aud (or one of its entries)
  --ws-max-clock-skew-seconds SECONDS
                           signed-bearer-token: leeway for exp and nbf (default 30)

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

${SERVE_SANDBOX_HELP}
Limits
  --concurrent-requests N  requests one connection has in hand at once; later ones wait
                           (default 64; codex exec-server's default is 1, one at a time)
  --max-message-bytes N    largest inbound message; bigger ones close the socket with 1009
                           (default 16777216)
  --max-connections N      concurrent WebSocket connections (default 256)
  --max-sessions N         live sessions (default 1024)
  --max-processes N        processes per session, finished ones included until their
                           retention ends (default 1024)
  --ping-interval SECONDS  keepalive ping; a peer silent this long is dropped (default 30)
  --handshake-timeout SECONDS
                           a connection must send its request (and finish TLS) within this, and
                           then succeed in initialize within it again, or it is closed (default 10)

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

/**
 * Parses `serve` flags into server options (reading the token, secret and
 * TLS files).
 *
 * @param cwd What relative paths in flags are taken from.
 * @throws {UsageError} For a bad flag, a bad combination or an unreadable file.
 */
export async function parseServeArgs(
  args: string[],
  env: Record<string, string | undefined>,
  cwd = "/",
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
      "handshake-timeout": { type: "string" },
      "concurrent-requests": { type: "string" },
      "ws-auth": { type: "string" },
      "ws-token-file": { type: "string" },
      "ws-token-sha256": { type: "string" },
      "ws-shared-secret-file": { type: "string" },
      "ws-issuer": { type: "string" },
      "ws-audience": { type: "string" },
      "ws-max-clock-skew-seconds": { type: "string" },
      "fs-root": { type: "string", multiple: true },
      ...SERVE_SANDBOX_FLAGS,
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
  const wsAuth = await wsAuthFromFlags(v, cwd, warnings);
  if (wsAuth !== null) {
    if (stdio) throw new UsageError("WebSocket auth requires a WebSocket listener, not stdio");
    if (token !== null) {
      throw new UsageError(
        `--ws-auth and ${v["token-file"] !== undefined ? "--token-file" : "EXEC_SERVER_TOKEN"} ` +
          "both require a token on upgrade; use one of them",
      );
    }
  }
  if (token !== null && token.length < 16) {
    warnings.push(
      "WARNING: the token is shorter than 16 characters; generate one with `openssl rand -hex 32`",
    );
  }
  if (!stdio && !isLoopback(hostname) && token === null && wsAuth === null) {
    if (!v["insecure-no-auth"]) {
      throw new UsageError(
        `refusing to listen on non-loopback address ${hostname} without a token: anyone who can ` +
          `reach it could run commands as this user. Set --token-file or EXEC_SERVER_TOKEN (or --ws-auth), ` +
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
      auth: wsAuth ?? (token !== null ? { mode: "bearer", token } : null),
      allowOrigins: v["allow-origin"] ?? [],
      fsRoots: v["fs-root"] ?? [],
      sandbox: await serveSandboxOptions(v),
      sessionTtlMs: positiveNumber(
        "--session-ttl",
        v["session-ttl"],
        DEFAULT_SESSION_TTL_SECONDS,
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
      handshakeTimeoutMs: positiveNumber("--handshake-timeout", v["handshake-timeout"], 10) * 1000,
      initializeTimeoutMs: positiveNumber("--handshake-timeout", v["handshake-timeout"], 10) * 1000,
      concurrentRequests: positiveInt("--concurrent-requests", v["concurrent-requests"], 64),
      logger: createLogger(level as LogLevel, (l) => console.error(l)),
    },
  };
}

/** The values of the `--ws-*` flags. */
interface WsFlags {
  "ws-auth"?: string | undefined;
  "ws-token-file"?: string | undefined;
  "ws-token-sha256"?: string | undefined;
  "ws-shared-secret-file"?: string | undefined;
  "ws-issuer"?: string | undefined;
  "ws-audience"?: string | undefined;
  "ws-max-clock-skew-seconds"?: string | undefined;
}

/**
 * codex's `--ws-auth` flags as an {@linkcode WsAuth}, with codex 0.171's
 * refusals (its wording): auth flags without `--ws-auth`, the flags of one
 * mode with the other, a missing or doubled token source, a bad digest, an
 * empty or short secret.
 */
async function wsAuthFromFlags(
  v: WsFlags,
  cwd: string,
  warnings: string[],
): Promise<WsAuth | null> {
  const tokenFlags = v["ws-token-file"] !== undefined || v["ws-token-sha256"] !== undefined;
  const jwtFlags = v["ws-shared-secret-file"] !== undefined || v["ws-issuer"] !== undefined ||
    v["ws-audience"] !== undefined || v["ws-max-clock-skew-seconds"] !== undefined;
  const mode = v["ws-auth"];
  if (mode === undefined) {
    if (tokenFlags || jwtFlags) {
      throw new UsageError(
        "websocket auth flags require `--ws-auth capability-token` or " +
          "`--ws-auth signed-bearer-token`",
      );
    }
    return null;
  }
  if (mode === "capability-token") {
    if (jwtFlags) {
      throw new UsageError(
        "`--ws-shared-secret-file`, `--ws-issuer`, `--ws-audience`, and " +
          "`--ws-max-clock-skew-seconds` require `--ws-auth signed-bearer-token`",
      );
    }
    const file = v["ws-token-file"];
    const digest = v["ws-token-sha256"];
    if (file !== undefined && digest !== undefined) {
      throw new UsageError("`--ws-token-file` and `--ws-token-sha256` are mutually exclusive");
    }
    if (digest !== undefined) {
      if (!/^[0-9a-fA-F]{64}$/.test(digest)) {
        throw new UsageError("--ws-token-sha256 must be a 64-character hex SHA-256 digest");
      }
      return { mode, sha256: digest.toLowerCase() };
    }
    if (file === undefined) {
      throw new UsageError(
        "`--ws-token-file` or `--ws-token-sha256` is required when `--ws-auth " +
          "capability-token` is set",
      );
    }
    return { mode, sha256: sha256Hex(await readWsSecret(file, cwd, warnings)) };
  }
  if (mode === "signed-bearer-token") {
    if (tokenFlags) {
      throw new UsageError(
        "`--ws-token-file` and `--ws-token-sha256` require `--ws-auth capability-token`, " +
          "not `signed-bearer-token`",
      );
    }
    const file = v["ws-shared-secret-file"];
    if (file === undefined) {
      throw new UsageError(
        "`--ws-shared-secret-file` is required when `--ws-auth signed-bearer-token` is set",
      );
    }
    const secret = await readWsSecret(file, cwd, warnings);
    if (new TextEncoder().encode(secret).length < 32) {
      throw new UsageError(
        `signed websocket bearer secret ${absolute(file, cwd)} must be at least 32 bytes`,
      );
    }
    const skew = v["ws-max-clock-skew-seconds"];
    if (skew !== undefined && !/^\d+$/.test(skew)) {
      throw new UsageError(
        `--ws-max-clock-skew-seconds must be a whole number of seconds, got ${
          JSON.stringify(skew)
        }`,
      );
    }
    return {
      mode,
      secret,
      issuer: v["ws-issuer"],
      audience: v["ws-audience"],
      maxClockSkewSeconds: skew === undefined ? DEFAULT_MAX_CLOCK_SKEW_SECONDS : Number(skew),
    };
  }
  throw new UsageError(
    `--ws-auth must be capability-token or signed-bearer-token, got ${JSON.stringify(mode)}`,
  );
}

function absolute(path: string, cwd: string): string {
  return path.startsWith("/") ? path : `${cwd.replace(/\/$/, "")}/${path}`;
}

/**
 * A `--ws-*` file as codex reads it: the whole content, trimmed, never empty.
 * A file other users can read draws a warning.
 */
async function readWsSecret(path: string, cwd: string, warnings: string[]): Promise<string> {
  const file = absolute(path, cwd);
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (err) {
    throw new UsageError(`failed to read websocket auth secret ${file}: ${messageOf(err)}`);
  }
  const secret = text.trim();
  if (secret === "") throw new UsageError(`websocket auth secret ${file} must not be empty`);
  const mode = (await Deno.stat(file).catch(() => null))?.mode ?? null;
  if (mode !== null && (mode & 0o077) !== 0) {
    warnings.push(
      `WARNING: ${file} can be read by other users (mode ` +
        `${(mode & 0o777).toString(8).padStart(3, "0")}); run chmod 600 on it`,
    );
  }
  return secret;
}

/** `exec-server serve ARGS`: runs the server until SIGTERM or SIGINT (or stdin's end for stdio). */
export async function serveMain(args: string[]): Promise<number> {
  const parsed = await parseServeArgs(args, Deno.env.toObject(), Deno.cwd());
  if (parsed.help) {
    console.log(SERVE_HELP);
    return 0;
  }
  // Children must not inherit the token, whatever their envPolicy says.
  Deno.env.delete("EXEC_SERVER_TOKEN");
  for (const w of parsed.warnings) console.error(w);
  startContainment(
    parsed.options.logger ?? createLogger("info", (l) => console.error(l)),
    Deno.env.get("EXEC_SERVER_CONTAINMENT"),
  );
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
  const [{ createServerCore }, { serveStdio }] = await Promise.all([
    import("../server/core.ts"),
    import("../server/stdio_server.ts"),
  ]);
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
    await core.close();
  }
  return 0;
}
