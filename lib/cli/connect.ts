// Copyright 2026 the exec-server authors. MIT license.
/**
 * Connection flags shared by the client subcommands (`exec`, `call`, `cp`,
 * `mcp-bridge`): `--url`, `--ssh`, `--token-file`, `--ca-file`, and what the
 * user sees while connecting: the install over ssh, reconnects, and errors
 * that say what to do.
 *
 * @module
 */
import { ExecServerClient } from "../client/client.ts";
import { ConnectionClosedError } from "../client/errors.ts";
import type { ClientState } from "../client/options.ts";
import { connectSsh, type InstallEvent, parseSshTarget } from "../client/ssh.ts";
import { localServerPayload } from "../client/ssh_payload.ts";
import {
  CliExit,
  type OptionSpecs,
  parseFlags,
  positiveNumber,
  readTokenFile,
  splitAtCommand,
  UsageError,
} from "./flags.ts";
import { Progress } from "./progress.ts";
import { messageOf } from "../util/mod.ts";

/** Usage text of the connection flags. */
export const CONNECT_HELP =
  `Connecting (one of --url or --ssh; EXEC_SERVER_URL is the default --url)
  --url URL                ws:// or wss:// URL of a running server
  --ssh [USER@]HOST[:PORT] reach HOST over ssh and run the server there on the ssh pipe (the
                           session ends with the ssh connection). A host without exec-server
                           gets it on first use, over the same connection: the bundle and this
                           machine's deno go to ~/.cache/exec-server/ there (checksummed) and
                           are reused next time
  --ssh-command CMD        the ssh program and its options (default "ssh"), e.g. "ssh -i key"
  --remote-command CMD     run CMD on the host instead of installing, e.g. "exec-server"
  --remote-cache DIR       the cache directory on the host
                           (default \${XDG_CACHE_HOME:-~/.cache}/exec-server)
  --token-file PATH        send the token in this file (first line) as a bearer token; the
                           environment variable EXEC_SERVER_TOKEN works too
  --ca-file PATH           trust this PEM CA certificate for wss://
  --reconnect SECONDS      how long to keep trying when a --url connection drops (default 25;
                           0: give up at once)`;

/** parseArgs option specs of the connection flags. */
const CONNECT_OPTIONS = {
  "url": { type: "string" },
  "ssh": { type: "string" },
  "ssh-command": { type: "string" },
  "remote-command": { type: "string" },
  "remote-cache": { type: "string" },
  "token-file": { type: "string" },
  "ca-file": { type: "string" },
  "reconnect": { type: "string" },
} as const;

/** Parsed connection flags. */
export interface ConnectFlags {
  /** `--url`. */
  url?: string | undefined;
  /** `--ssh`. */
  ssh?: string | undefined;
  /** `--ssh-command`. */
  "ssh-command"?: string | undefined;
  /** `--remote-command`. */
  "remote-command"?: string | undefined;
  /** `--remote-cache`. */
  "remote-cache"?: string | undefined;
  /** `--token-file`. */
  "token-file"?: string | undefined;
  /** `--ca-file`. */
  "ca-file"?: string | undefined;
  /** `--reconnect`. */
  reconnect?: string | undefined;
}

/**
 * Parses a client subcommand's arguments: the connection flags, `extra`
 * and `-h`/`--help`. With `command: true` (exec, mcp-bridge) the flags end
 * where the command begins, as with `ssh host ls -la`: the first word that
 * is not a flag, or everything after `--`, is the command with all its
 * arguments. Otherwise positionals may sit among the flags.
 *
 * @throws {UsageError} For an unknown flag or a missing value.
 *
 * @example
 * ```ts
 * import { parseClientFlags } from "./connect.ts";
 * import assert from "node:assert/strict";
 * const { values, positionals } = parseClientFlags(
 *   ["--url", "ws://h:1", "--tty", "ls", "-l", "--tty"],
 *   { tty: { type: "boolean" } },
 *   { command: true },
 * );
 * assert.equal(values.url, "ws://h:1");
 * assert.equal(values.tty, true);
 * assert.deepEqual(positionals, ["ls", "-l", "--tty"]);
 * ```
 */
export function parseClientFlags<const O extends OptionSpecs>(
  args: string[],
  extra: O,
  { command = false }: { command?: boolean } = {},
) {
  const options = { ...CONNECT_OPTIONS, ...extra, help: { type: "boolean", short: "h" } } as const;
  if (command) {
    const split = splitAtCommand(args, options);
    const { values } = parseFlags({
      args: split.flags,
      strict: true,
      allowPositionals: false,
      options,
    });
    return { values, positionals: split.command };
  }
  const dash = args.indexOf("--");
  const { values, positionals } = parseFlags({
    args: dash === -1 ? args : args.slice(0, dash),
    strict: true,
    allowPositionals: true,
    options,
  });
  return {
    values,
    positionals: dash === -1 ? positionals : [...positionals, ...args.slice(dash + 1)],
  };
}

/**
 * Checks a `--url`: a `ws://` or `wss://` URL with a host.
 *
 * @throws {UsageError} Saying what a URL looks like.
 *
 * @example
 * ```ts
 * import { checkUrl } from "./connect.ts";
 * import assert from "node:assert/strict";
 * assert.equal(checkUrl("ws://127.0.0.1:8765"), "ws://127.0.0.1:8765");
 * assert.throws(() => checkUrl("nonsense"), { name: "UsageError", message: /ws:\/\/127/ });
 * ```
 */
export function checkUrl(url: string, flag = "--url"): string {
  let parsed: URL | null = null;
  try {
    parsed = new URL(url);
  } catch {
    // below
  }
  if (!parsed || (parsed.protocol !== "ws:" && parsed.protocol !== "wss:") || !parsed.hostname) {
    const http = parsed && (parsed.protocol === "http:" || parsed.protocol === "https:")
      ? ` (the WebSocket URL of that server is ${url.replace(/^http/, "ws")})`
      : "";
    throw new UsageError(
      `${flag} ${JSON.stringify(url)} is not a ws:// or wss:// URL${http}; it looks like ` +
        `ws://127.0.0.1:8765 (what exec-server serve prints on its first line)`,
    );
  }
  return url;
}

/**
 * Adds what to do to a connect failure's message: the hint for a refused
 * token, an unknown CA, nothing listening, an unknown host, or ssh failing.
 *
 * @example
 * ```ts
 * import { connectHint } from "./connect.ts";
 * import assert from "node:assert/strict";
 * assert.match(connectHint("failed to connect to WebSocket: Invalid status code: 401"), /--token-file/);
 * assert.match(connectHint("invalid peer certificate: UnknownIssuer"), /--ca-file/);
 * assert.equal(connectHint("something else"), "");
 * ```
 */
export function connectHint(message: string): string {
  if (/status code:? 401|\b401\b.*unauthori[sz]ed/i.test(message)) {
    return "the server wants a token, and this one is missing or wrong: pass it with " +
      "--token-file FILE (the file the server was started with) or EXEC_SERVER_TOKEN";
  }
  if (/status code:? 403/i.test(message)) {
    return "the server refused the upgrade (HTTP 403): it only lets in the origins named by " +
      "its --allow-origin";
  }
  if (/UnknownIssuer|unknown ?ca|self[- ]signed|unable to verify|certificate/i.test(message)) {
    return "the server's TLS certificate is not signed by a CA this machine trusts: pass the " +
      "CA's certificate with --ca-file CA.pem";
  }
  if (/InvalidContentType|wrong version number|corrupt message/i.test(message)) {
    return "the server does not speak TLS there: use ws:// instead of wss://";
  }
  if (/tcp connect error|Connection refused|ECONNREFUSED/i.test(message)) {
    return "nothing accepts connections at that address: is the server running (exec-server " +
      "serve prints its URL), and is the port right?";
  }
  if (/dns error|ENOTFOUND|failed to lookup|Name or service not known/i.test(message)) {
    return "the host name does not resolve: check the spelling in --url";
  }
  if (/ssh exited \(code 255\)/.test(message)) {
    return "ssh could not log in or reach the host: try `ssh HOST true` with the same " +
      "--ssh-command options";
  }
  if (/ssh exited \(code 127\)/.test(message)) {
    return "the remote command was not found on the host: check --remote-command, or leave it " +
      "out to install exec-server there automatically";
  }
  return "";
}

/** A connect failure as the user reads it: the message plus its hint, exit code 255. */
export function connectFailure(err: unknown): CliExit {
  const message = messageOf(err);
  const hint = connectHint(message);
  return new CliExit(hint ? `${message}\nhint: ${hint}` : message, 255);
}

/** Options of {@linkcode connectFromFlags}. */
export interface ConnectBehaviour {
  /** `clientName` in `initialize`. */
  clientName: string;
  /** Resume this detached session instead of starting one. @default {undefined} */
  sessionId?: string | undefined;
  /** Print reconnects on stderr. @default {true} */
  reportReconnects?: boolean;
  /** The program's entry (for the ssh install payload). @default {the checkout's main.ts} */
  entry?: string | URL | undefined;
}

/** Connects a client as the flags say. */
export async function connectFromFlags(
  flags: ConnectFlags,
  env: Record<string, string | undefined>,
  behaviour: ConnectBehaviour,
): Promise<ExecServerClient> {
  if (flags.url && flags.ssh) throw new UsageError("give either --url or --ssh, not both");
  let token: string | undefined = env.EXEC_SERVER_TOKEN || undefined;
  if (flags["token-file"]) {
    const file = await readTokenFile(flags["token-file"]);
    if (file.warning) console.error(`exec-server: ${file.warning}`);
    token = file.token;
  }
  if (flags.ssh) return await connectOverSsh(flags, behaviour);
  const url = flags.url ?? env.EXEC_SERVER_URL;
  if (!url) {
    throw new UsageError(
      "say where the server is: --url URL (or EXEC_SERVER_URL) or --ssh HOST",
    );
  }
  checkUrl(url, flags.url ? "--url" : "EXEC_SERVER_URL");
  let caCert: string | undefined;
  if (flags["ca-file"]) {
    try {
      caCert = await Deno.readTextFile(flags["ca-file"]);
    } catch (err) {
      throw new UsageError(`cannot read --ca-file ${flags["ca-file"]}: ${messageOf(err)}`);
    }
  }
  const reconnect = flags.reconnect === undefined
    ? 25
    : flags.reconnect === "0"
    ? 0
    : positiveNumber("--reconnect", flags.reconnect, 25);
  const report = behaviour.reportReconnects ?? true;
  const watcher = report ? reconnectReporter(url, reconnect) : undefined;
  try {
    return await ExecServerClient.connect({
      url,
      clientName: behaviour.clientName,
      autoResume: reconnect > 0,
      resumeWindowMs: reconnect * 1000,
      ...(token ? { token } : {}),
      ...(caCert ? { caCert } : {}),
      ...(behaviour.sessionId ? { resumeSessionId: behaviour.sessionId } : {}),
      ...(watcher ? { onStateChange: watcher } : {}),
    });
  } catch (err) {
    if (err instanceof ConnectionClosedError) throw connectFailure(err);
    throw err;
  }
}

/** Prints on stderr when the link drops, when it is back, and when the client gave up. */
function reconnectReporter(
  url: string,
  windowSeconds: number,
): (state: ClientState, detail?: string) => void {
  let lostAt = 0;
  return (state, detail) => {
    if (state === "resuming") {
      lostAt = Date.now();
      console.error(
        `exec-server: lost the connection to ${url}${detail ? ` (${detail})` : ""}; ` +
          `reconnecting for up to ${windowSeconds} s (Ctrl-C stops)`,
      );
    } else if (state === "connected" && lostAt > 0) {
      console.error(
        `exec-server: reconnected after ${((Date.now() - lostAt) / 1000).toFixed(1)} s; ` +
          `nothing was lost`,
      );
      lostAt = 0;
    } else if (state === "failed" && lostAt > 0) {
      console.error(
        `exec-server: gave up reconnecting after ${((Date.now() - lostAt) / 1000).toFixed(1)} s` +
          (detail ? `: ${detail}` : ""),
      );
      lostAt = 0;
    }
  };
}

async function connectOverSsh(
  flags: ConnectFlags,
  behaviour: ConnectBehaviour,
): Promise<ExecServerClient> {
  const target = flags.ssh!;
  try {
    parseSshTarget(target);
  } catch {
    throw new UsageError(`--ssh expects [USER@]HOST[:PORT], got ${JSON.stringify(target)}`);
  }
  if (behaviour.sessionId) {
    throw new UsageError(
      "--session needs --url: over --ssh the session ends with the ssh connection",
    );
  }
  const ssh = flags["ssh-command"]?.trim().split(/\s+/) ?? ["ssh"];
  const remote = flags["remote-command"]?.trim().split(/\s+/);
  const progress = new Progress();
  const onInstall = (e: InstallEvent) => {
    if (e.type === "sending") {
      console.error(
        `exec-server: ${target} lacks ${e.file === "deno" ? "the Deno runtime" : "this server"}` +
          ` in its cache: sending ${e.file} (${(e.bytes / 1e6).toFixed(1)} MB, once)`,
      );
      progress.start(e.file, e.bytes);
    } else if (e.type === "progress") progress.update(e.sent);
    else progress.done(`exec-server: installed ${e.file} in ${e.dir} on ${target}`);
  };
  try {
    return await connectSsh(target, {
      ssh,
      clientName: behaviour.clientName,
      ...(remote ? { remoteCommand: remote } : {}),
      ...(flags["remote-cache"] ? { cacheDir: flags["remote-cache"] } : {}),
      payload: () => localServerPayload(behaviour.entry ? { entry: behaviour.entry } : {}),
      onInstall,
    });
  } catch (err) {
    progress.clear();
    if (err instanceof ConnectionClosedError) throw connectFailure(err);
    throw err;
  }
}
