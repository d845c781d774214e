// Copyright 2026 the exec-server authors. MIT license.
/**
 * The `exec-server` command line: the dispatch to `serve` (./serve.ts) and to
 * the client subcommands (`exec`, `call`, `mcp-bridge`), which load on first use.
 *
 * @module
 */
import { ConnectionClosedError } from "../client/errors.ts";
import { CliExit, UsageError } from "./flags.ts";
import { VERSION } from "../util/mod.ts";
import { serveMain } from "./serve.ts";

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

/** The subcommands, for dispatch and for the usage hint. */
const COMMANDS = ["serve", "exec", "cp", "call", "mcp-bridge"] as const;

/** Runs the CLI with `args`; resolves to the exit code. */
export async function main(args: string[]): Promise<number> {
  const [command, ...rest] = args;
  try {
    switch (command) {
      case "serve":
        return await serveMain(rest);
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
