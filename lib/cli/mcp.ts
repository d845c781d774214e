// Copyright 2026 the exec-server authors. MIT license.
/**
 * `exec-server mcp-bridge`: a local stdio MCP server that forwards every
 * message to an MCP server running on the exec-server's host, so any MCP host
 * that can only start local commands can use a remote server.
 *
 * @module
 */
import { CONNECT_HELP, connectFromFlags, parseClientFlags } from "./connect.ts";
import { parseKeyValues, UsageError } from "./flags.ts";
import type { McpServerConfig } from "../mcp/config.ts";
import { ExecutorStdioTransport } from "../mcp/transport.ts";
import { messageOf, readLines } from "../util/mod.ts";

/** How long the command may run on after our stdin ends before it is terminated, in ms. */
const STDIN_EOF_GRACE_MS = 5000;

/** `mcp-bridge --help`. */
const MCP_BRIDGE_HELP = `Usage: exec-server mcp-bridge [flags] --cwd DIR [--] CMD [ARG...]

Acts as a local stdio MCP server: every JSON-RPC line on stdin goes to CMD, started on the
exec-server's host (stdin piped, no terminal), and every line CMD writes comes back on stdout.
CMD's stderr is copied to stderr. When stdin ends, CMD's stdin is closed and CMD has 5 s to
finish (its answers still come back) before it is terminated. Configure an MCP host to run this
command instead of CMD.
Flags end where CMD begins, so hosts that drop "--" from the arguments work too.

${CONNECT_HELP}

MCP server
  --cwd DIR                working directory on the server (required)
  --env K=V                set a variable to a literal value (repeatable)
  --env-var NAME[:remote]  pass a variable (repeatable): by default its value is read here and
                           sent; NAME:remote takes it from the server's environment instead
  -h, --help               this text
`;

/** Builds the MCP server config from the bridge's flags. */
export function bridgeConfig(
  argv: string[],
  cwd: string | undefined,
  env: string[],
  envVars: string[],
): McpServerConfig {
  if (argv.length === 0) throw new UsageError("mcp-bridge needs a command: [--] CMD [ARG...]");
  if (!cwd) {
    throw new UsageError("mcp-bridge needs --cwd DIR (the server's working directory)");
  }
  const literal = parseKeyValues(env, "--env");
  const vars = envVars.map((spec) => {
    const [name, source, ...rest] = spec.split(":");
    if (
      !name || rest.length > 0 ||
      (source !== undefined && source !== "remote" && source !== "local")
    ) {
      throw new UsageError(
        `--env-var expects NAME or NAME:remote, got ${JSON.stringify(spec)}`,
      );
    }
    return { name, source: source ?? "local" };
  });
  return { command: argv[0]!, args: argv.slice(1), cwd, env: literal, envVars: vars };
}

/** Runs `mcp-bridge`; resolves to the exit code. */
export async function mcpBridgeMain(args: string[], entry?: string | URL): Promise<number> {
  const { values: v, positionals: argv } = parseClientFlags(args, {
    cwd: { type: "string" },
    env: { type: "string", multiple: true },
    "env-var": { type: "string", multiple: true },
  }, { command: true });
  if (v.help) {
    console.log(MCP_BRIDGE_HELP);
    return 0;
  }
  const config = bridgeConfig(argv, v.cwd, v.env ?? [], v["env-var"] ?? []);
  const client = await connectFromFlags(v, Deno.env.toObject(), {
    clientName: "exec-server-mcp-bridge",
    entry,
  });
  const encoder = new TextEncoder();
  const stdout = Deno.stdout.writable.getWriter();
  let writes = Promise.resolve();
  const transport = new ExecutorStdioTransport(client, config, {
    onStderr: (text) => void Deno.stderr.write(encoder.encode(text)).catch(() => {}),
  });
  const ended = Promise.withResolvers<void>();
  transport.onmessage = (message) => {
    const line = encoder.encode(JSON.stringify(message) + "\n");
    writes = writes.then(() => stdout.write(line)).catch(() => {});
  };
  transport.onerror = (err) => console.error(`exec-server mcp-bridge: ${err.message}`);
  transport.onclose = () => ended.resolve();
  try {
    await transport.start();
    const reader = Deno.stdin.readable.getReader();
    const pump = (async () => {
      for await (const line of readLines(reader, { maxLineBytes: 64 * 1024 * 1024 })) {
        if (!(line instanceof Uint8Array)) {
          console.error("exec-server mcp-bridge: dropped an input line over 64 MiB");
          continue;
        }
        let message;
        try {
          message = JSON.parse(new TextDecoder().decode(line));
        } catch {
          console.error("exec-server mcp-bridge: dropped an input line that is not JSON");
          continue;
        }
        await transport.send(message);
      }
    })();
    // Ends when the host closes our stdin, or when the remote server exits.
    const eof = await Promise.race([
      pump.then(() => true, (err) => {
        console.error(`exec-server mcp-bridge: ${messageOf(err)}`);
        return true;
      }),
      ended.promise.then(() => false),
    ]);
    if (eof) {
      // As an MCP host shuts a server down: close its stdin and let it finish
      // (and answer what it was sent) before terminating it.
      await transport.process?.closeStdin().catch(() => {});
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        ended.promise,
        new Promise<void>((resolve) => (timer = setTimeout(resolve, STDIN_EOF_GRACE_MS))),
      ]);
      clearTimeout(timer);
    }
    await transport.close();
    await writes;
    return 0;
  } finally {
    await client.close();
  }
}
