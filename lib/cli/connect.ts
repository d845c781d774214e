// Copyright 2026 the exec-server authors. MIT license.
/**
 * Connection flags shared by the client subcommands (`exec`, `call`,
 * `mcp-bridge`): `--url`, `--ssh`, `--token-file`, `--ca-file`.
 *
 * @module
 */
import { ExecServerClient } from "../client/client.ts";
import { connectStdio } from "../client/stdio.ts";
import { parseFlags, readTokenFile, UsageError } from "./flags.ts";
import { messageOf } from "../util/mod.ts";

/** Usage text of the connection flags. */
export const CONNECT_HELP =
  `Connecting (one of --url or --ssh; EXEC_SERVER_URL is the default --url)
  --url URL                ws:// or wss:// URL of a running server
  --ssh [USER@]HOST[:PORT] start "exec-server serve --listen stdio" on HOST over ssh and talk to it
                           through the ssh pipe (the session ends with the ssh connection)
  --ssh-command CMD        the ssh program and its options (default "ssh"), e.g. "ssh -i key"
  --remote-command CMD     how to run exec-server on the remote host (default "exec-server")
  --token-file PATH        send the token in this file (first line) as a bearer token; the
                           environment variable EXEC_SERVER_TOKEN works too
  --ca-file PATH           trust this PEM CA certificate for wss://`;

/** parseArgs option specs of the connection flags. */
const CONNECT_OPTIONS = {
  "url": { type: "string" },
  "ssh": { type: "string" },
  "ssh-command": { type: "string" },
  "remote-command": { type: "string" },
  "token-file": { type: "string" },
  "ca-file": { type: "string" },
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
  /** `--token-file`. */
  "token-file"?: string | undefined;
  /** `--ca-file`. */
  "ca-file"?: string | undefined;
}

/** The options of `parseArgs` that {@linkcode parseClientFlags} accepts. */
type OptionSpecs = Record<
  string,
  { type: "string" | "boolean"; multiple?: boolean; short?: string }
>;

/**
 * Parses a client subcommand's arguments: the connection flags, `extra`
 * and `-h`/`--help`, then positionals. Everything after `--` is positional
 * as it stands, even words that look like flags.
 *
 * @throws {UsageError} For an unknown flag or a missing value.
 *
 * @example
 * ```ts
 * import { parseClientFlags } from "./connect.ts";
 * import assert from "node:assert/strict";
 * const { values, positionals } = parseClientFlags(
 *   ["--url", "ws://h:1", "--tty", "--", "ls", "-l"],
 *   { tty: { type: "boolean" } },
 * );
 * assert.equal(values.url, "ws://h:1");
 * assert.equal(values.tty, true);
 * assert.deepEqual(positionals, ["ls", "-l"]);
 * ```
 */
export function parseClientFlags<const O extends OptionSpecs>(args: string[], extra: O) {
  const dash = args.indexOf("--");
  const { values, positionals } = parseFlags({
    args: dash === -1 ? args : args.slice(0, dash),
    strict: true,
    allowPositionals: true,
    options: { ...CONNECT_OPTIONS, ...extra, help: { type: "boolean", short: "h" } },
  });
  return {
    values,
    positionals: dash === -1 ? positionals : [...positionals, ...args.slice(dash + 1)],
  };
}

/**
 * The command that starts a stdio server on `target` (`[user@]host[:port]`).
 *
 * @example
 * ```ts
 * import { sshCommand } from "./connect.ts";
 * console.assert(sshCommand("me@box:2222").join(" ") === "ssh -p 2222 me@box exec-server serve --listen stdio");
 * ```
 */
export function sshCommand(
  target: string,
  sshProgram = "ssh",
  remoteCommand = "exec-server",
): string[] {
  const m = /^((?:[^@\s]+@)?(?:\[[^\]]+\]|[^:\s]+))(?::(\d+))?$/.exec(target);
  if (!m) {
    throw new UsageError(`--ssh expects [USER@]HOST[:PORT], got ${JSON.stringify(target)}`);
  }
  const host = m[1]!.replace(/@\[(.*)\]$/, "@$1").replace(/^\[(.*)\]$/, "$1");
  const ssh = sshProgram.trim().split(/\s+/);
  return [
    ...ssh,
    ...(m[2] ? ["-p", m[2]] : []),
    host,
    ...remoteCommand.trim().split(/\s+/),
    "serve",
    "--listen",
    "stdio",
  ];
}

/** Connects a client as the flags say. */
export async function connectFromFlags(
  flags: ConnectFlags,
  env: Record<string, string | undefined>,
  clientName: string,
): Promise<ExecServerClient> {
  if (flags.url && flags.ssh) throw new UsageError("give either --url or --ssh, not both");
  let token: string | undefined = env.EXEC_SERVER_TOKEN || undefined;
  if (flags["token-file"]) {
    const file = await readTokenFile(flags["token-file"]);
    if (file.warning) console.error(`exec-server: ${file.warning}`);
    token = file.token;
  }
  if (flags.ssh) {
    const command = sshCommand(flags.ssh, flags["ssh-command"], flags["remote-command"]);
    return await connectStdio(command, { clientName });
  }
  const url = flags.url ?? env.EXEC_SERVER_URL;
  if (!url) throw new UsageError("say where the server is: --url URL or --ssh HOST");
  let caCert: string | undefined;
  if (flags["ca-file"]) {
    try {
      caCert = await Deno.readTextFile(flags["ca-file"]);
    } catch (err) {
      throw new UsageError(`cannot read --ca-file: ${messageOf(err)}`);
    }
  }
  return await ExecServerClient.connect({
    url,
    clientName,
    ...(token ? { token } : {}),
    ...(caCert ? { caCert } : {}),
  });
}
