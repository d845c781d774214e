// Copyright 2026 the exec-server authors. MIT license.
/**
 * `exec-server exec` (run one command remotely, like `ssh host cmd`) and
 * `exec-server call` (send one raw request).
 *
 * @module
 */
import type { ExecServerClient } from "../client/client.ts";
import { ExecServerError } from "../client/errors.ts";
import { CONNECT_HELP, connectFromFlags, parseClientFlags } from "./connect.ts";
import { parseKeyValues, positiveNumber, UsageError } from "./flags.ts";
import { isMethodName, METHODS, type ParamsOf } from "../protocol/methods.ts";
import { inheritEnv } from "../protocol/process.ts";
import { messageOf } from "../util/mod.ts";

/** `exec --help`. */
const EXEC_HELP = `Usage: exec-server exec [flags] -- CMD [ARG...]

Runs CMD on the server like "ssh host cmd": local stdin is forwarded (end-of-file closes the
remote stdin), remote stdout and stderr go to local stdout and stderr, and the remote exit
code becomes this command's exit code (128+N when a signal N ended it; 255 when the
connection failed).

${CONNECT_HELP}

Process
  --tty                    run CMD on a terminal; the local terminal goes raw, window size
                           changes are forwarded, and Ctrl-C reaches the remote process
  --cwd DIR                working directory on the server (default /)
  --env K=V                set a variable (repeatable); the rest of the environment is the
                           server's own
  --timeout SECONDS        terminate the process tree after this long
  -h, --help               this text
`;

/** `call --help`. */
const CALL_HELP = `Usage: exec-server call [flags] METHOD [JSON-PARAMS]

Initializes a session, sends one request and prints its result as JSON on stdout. A JSON-RPC
error is printed on stderr and the exit code is 1. For scripts and debugging.
Methods: ${Object.keys(METHODS).filter((m) => m !== "initialize").join(", ")}.

${CONNECT_HELP}
  -h, --help               this text
`;

/** The local terminal's size, or null when unknown (not a terminal, or 0×0 as under `script`). */
function terminalSize(): { rows: number; columns: number } | null {
  try {
    const s = Deno.consoleSize();
    return s.rows > 0 && s.columns > 0 ? s : null;
  } catch {
    return null;
  }
}

async function pumpStdin(
  write: (bytes: Uint8Array) => Promise<unknown>,
  closeStdin: () => Promise<unknown>,
): Promise<void> {
  const reader = Deno.stdin.readable.getReader();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      await write(value);
    }
  } catch {
    // The process ended or the connection failed: nothing more to send.
  } finally {
    reader.releaseLock();
  }
  await closeStdin().catch(() => {});
}

/** Runs `exec`; resolves to the exit code. */
export async function execMain(args: string[]): Promise<number> {
  const { values: v, positionals: argv } = parseClientFlags(args, {
    tty: { type: "boolean" },
    cwd: { type: "string" },
    env: { type: "string", multiple: true },
    timeout: { type: "string" },
  });
  if (v.help) {
    console.log(EXEC_HELP);
    return 0;
  }
  if (argv.length === 0) {
    throw new UsageError("exec needs a command: exec [flags] -- CMD [ARG...]");
  }
  const timeout = v.timeout === undefined ? undefined : positiveNumber("--timeout", v.timeout, 0);
  const tty = v.tty ?? false;
  const client = await connectFromFlags(v, Deno.env.toObject(), "exec-server-cli");
  const raw = tty && Deno.stdin.isTerminal();
  try {
    const size = tty ? terminalSize() : null;
    const proc = await client.start({
      argv,
      cwd: v.cwd ?? "/",
      env: parseKeyValues(v.env ?? [], "--env"),
      envPolicy: inheritEnv(),
      tty,
      pipeStdin: true,
      ...(size ? { size: { rows: size.rows, cols: size.columns } } : {}),
      ...(timeout ? { timeoutMs: Math.round(timeout * 1000) } : {}),
    });
    let onWinch: (() => void) | null = null;
    if (raw) {
      Deno.stdin.setRaw(true);
      onWinch = () => {
        const s = terminalSize();
        if (s) proc.resize({ rows: s.rows, cols: s.columns }).catch(() => {});
      };
      Deno.addSignalListener("SIGWINCH", onWinch);
    }
    void pumpStdin((b) => proc.write(b), () => proc.closeStdin());
    let code = 255;
    try {
      for await (const ev of proc.events()) {
        if (ev.type === "output") {
          const out = ev.stream === "stderr" ? Deno.stderr : Deno.stdout;
          let off = 0;
          while (off < ev.data.byteLength) off += await out.write(ev.data.subarray(off));
        } else if (ev.type === "exited") code = ev.exitCode;
        else if (ev.type === "gap") {
          console.error(
            `exec-server: ${ev.bytes ?? "some"} bytes of output were lost (server retention)`,
          );
        } else if (ev.type === "failed") {
          console.error(`exec-server: ${ev.message}`);
          code = 255;
        }
      }
    } finally {
      if (raw) Deno.stdin.setRaw(false);
      if (onWinch) Deno.removeSignalListener("SIGWINCH", onWinch);
    }
    return code;
  } finally {
    await client.close();
  }
}

/** Runs `call`; resolves to the exit code. */
export async function callMain(args: string[]): Promise<number> {
  const { values: v, positionals } = parseClientFlags(args, {});
  if (v.help) {
    console.log(CALL_HELP);
    return 0;
  }
  const [method, json, ...extra] = positionals;
  if (!method || extra.length > 0) throw new UsageError("call expects METHOD [JSON-PARAMS]");
  if (!isMethodName(method) || method === "initialize") {
    throw new UsageError(`unknown method ${JSON.stringify(method)}; see call --help`);
  }
  let params: unknown = {};
  if (json !== undefined) {
    try {
      params = JSON.parse(json);
    } catch (err) {
      throw new UsageError(`JSON-PARAMS is not valid JSON: ${messageOf(err)}`);
    }
  }
  const client: ExecServerClient = await connectFromFlags(
    v,
    Deno.env.toObject(),
    "exec-server-cli",
  );
  try {
    // Sent as typed: checking the params is the server's job here.
    const result = await client.call(method, params as ParamsOf<typeof method>);
    console.log(JSON.stringify(result, null, 2));
    return 0;
  } catch (err) {
    if (err instanceof ExecServerError) {
      console.error(JSON.stringify({ code: err.code, message: err.message }));
      return 1;
    }
    throw err;
  } finally {
    await client.close();
  }
}
