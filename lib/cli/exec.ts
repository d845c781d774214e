// Copyright 2026 the exec-server authors. MIT license.
/**
 * `exec-server exec`: run one command remotely, like `ssh host cmd`.
 *
 * @module
 */
import type { ExecServerClient } from "../client/client.ts";
import { ConnectionClosedError, ExecServerError } from "../client/errors.ts";
import type { ProcessHandle } from "../client/process.ts";
import { CONNECT_HELP, connectFromFlags, parseClientFlags } from "./connect.ts";
import { CliExit, parseKeyValues, positiveNumber, UsageError } from "./flags.ts";
import { inheritEnv } from "../protocol/process.ts";
import { ErrorKind } from "../protocol/errors.ts";
import { EXEC_SANDBOX_FLAGS, EXEC_SANDBOX_HELP, execSandboxProfile } from "./sandbox_flags.ts";

/** Exit codes of `exec`, as ssh and the shell use them. */
export const EXIT = {
  /** The command could not be started (e.g. its working directory does not exist). */
  cannotStart: 1,
  /** A usage error. */
  usage: 2,
  /** `--timeout` ended the command (as timeout(1) says). */
  timedOut: 124,
  /** The program exists but is not executable. */
  notExecutable: 126,
  /** The program was not found. */
  notFound: 127,
  /** The connection failed or the server broke the protocol. */
  connection: 255,
} as const;

/** The exit-status section of `exec --help`. */
const EXIT_HELP = `Exit status
  N                        the remote command's own exit code
  128+N                    a signal N ended it (e.g. 130 after Ctrl-C, 143 after SIGTERM)
  1                        it could not be started (e.g. --cwd does not exist)
  2                        usage error
  124                      --timeout ended it (the remote process tree was terminated)
  126                      the program is not executable
  127                      the program was not found
  255                      the connection failed or dropped for good (nothing else)`;

/** `exec --help`. */
const EXEC_HELP = `Usage: exec-server exec [flags] CMD [ARG...]
       exec-server exec [flags] -- CMD [ARG...]

Runs CMD on the server like "ssh host cmd": local stdin is forwarded (end-of-file closes the
remote stdin), remote stdout and stderr go to local stdout and stderr, and the remote exit
code becomes this command's exit code. Flags end where CMD begins: everything from CMD on is
CMD's own (exec-server exec ls -la), and -- may separate them explicitly.
Ctrl-C, SIGTERM and SIGHUP terminate the remote process tree (with --tty, Ctrl-C is a
keystroke for the remote terminal instead). When a --url connection drops, exec says so on
stderr and reconnects; the process keeps running on the server meanwhile.

${CONNECT_HELP}

Process
  --tty                    run CMD on a terminal; the local terminal goes raw, window size
                           changes are forwarded, and Ctrl-C reaches the remote process
  --cwd DIR                working directory on the server (default /)
  --env K=V                set a variable (repeatable); the rest of the environment is the
                           server's own
  --timeout SECONDS        terminate the remote process tree after this long (exit 124)
  -h, --help               this text

${EXEC_SANDBOX_HELP}
${EXIT_HELP}
`;

/**
 * The exit code for a `process/start` the server refused, from the error's
 * `data.kind` (codex's kinds; messages are for people): 127 when the program
 * was not found (`spawnNotFound`), 126 when it is not executable
 * (`spawnPermissionDenied`), 1 otherwise (`spawnFailed`, a sandbox, a
 * limit). Those two kinds also cover a working directory that is missing or
 * not searchable: `cwdIsDirectory` false (the caller asked the server) makes
 * them 1.
 *
 * @example
 * ```ts
 * import { startFailureCode } from "./exec.ts";
 * import { ExecServerError } from "../client/errors.ts";
 * import assert from "node:assert/strict";
 * const err = (kind?: string) =>
 *   new ExecServerError(-32603, "No such file or directory (os error 2): cwd-tool", kind && { kind });
 * assert.equal(startFailureCode(err("spawnNotFound"), true), 127);
 * assert.equal(startFailureCode(err("spawnPermissionDenied"), true), 126);
 * assert.equal(startFailureCode(err("spawnNotFound"), false), 1); // the cwd is missing
 * assert.equal(startFailureCode(err("spawnFailed"), true), 1);
 * assert.equal(startFailureCode(err(), null), 1); // no kind: any other refusal
 * ```
 */
export function startFailureCode(err: ExecServerError, cwdIsDirectory: boolean | null): number {
  const kind = (err.data as { kind?: unknown } | null | undefined)?.kind;
  if (kind !== ErrorKind.SpawnNotFound && kind !== ErrorKind.SpawnPermissionDenied) {
    return EXIT.cannotStart;
  }
  if (cwdIsDirectory === false) return EXIT.cannotStart;
  return kind === ErrorKind.SpawnNotFound ? EXIT.notFound : EXIT.notExecutable;
}

/**
 * Whether `cwd` is a directory on the server: false when the server says it
 * is something else or cannot be read (missing, not searchable), null when
 * the question itself failed (the connection).
 */
async function cwdIsDirectory(client: ExecServerClient, cwd: string): Promise<boolean | null> {
  try {
    return (await client.fs.getMetadata(cwd)).isDirectory;
  } catch (err) {
    return err instanceof ExecServerError ? false : null;
  }
}

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

const SIGNAL_NUMBERS = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 } as const;
/** How long a signal waits for the server to confirm the remote tree's termination. */
const TERMINATE_WAIT_MS = 3000;
type StopSignal = keyof typeof SIGNAL_NUMBERS;

/**
 * Terminates the remote process tree when this command gets SIGINT, SIGTERM
 * or SIGHUP (SIGINT only when `interruptIsKey` is false: on a raw terminal
 * Ctrl-C is a key for the remote side). A second signal exits at once.
 */
function stopOnSignals(
  proc: ProcessHandle,
  interruptIsKey: boolean,
): { received: () => StopSignal | null; dispose: () => void } {
  let received: StopSignal | null = null;
  const signals: StopSignal[] = interruptIsKey ? ["SIGTERM", "SIGHUP"] : [
    "SIGINT",
    "SIGTERM",
    "SIGHUP",
  ];
  const listeners = signals.map((sig) => {
    const fn = () => {
      if (received !== null) Deno.exit(128 + SIGNAL_NUMBERS[sig]);
      received = sig;
      console.error(`exec-server: ${sig}: terminating the remote process tree`);
      // While reconnecting the call waits for the link; give up on it after a few seconds
      // rather than hold the user's Ctrl-C for the whole reconnect window.
      proc.terminate({ requestTimeoutMs: TERMINATE_WAIT_MS }).catch(() => {
        // The server ends a detached session's processes when the session expires.
        console.error(
          "exec-server: cannot reach the server to terminate it; it stops when the session " +
            "expires (the server's --session-ttl)",
        );
        Deno.exit(128 + SIGNAL_NUMBERS[sig]);
      });
    };
    Deno.addSignalListener(sig, fn);
    return [sig, fn] as const;
  });
  return {
    received: () => received,
    dispose: () => {
      for (const [sig, fn] of listeners) Deno.removeSignalListener(sig, fn);
    },
  };
}

/** Writes all of `data` to `out`. */
async function writeAll(
  out: { write(p: Uint8Array): Promise<number> },
  data: Uint8Array,
): Promise<void> {
  let off = 0;
  while (off < data.byteLength) off += await out.write(data.subarray(off));
}

/** Runs `exec`; resolves to the exit code. */
export async function execMain(args: string[], entry?: string | URL): Promise<number> {
  const { values: v, positionals: argv } = parseClientFlags(args, {
    tty: { type: "boolean" },
    cwd: { type: "string" },
    env: { type: "string", multiple: true },
    timeout: { type: "string" },
    ...EXEC_SANDBOX_FLAGS,
  }, { command: true });
  if (v.help) {
    console.log(EXEC_HELP);
    return 0;
  }
  if (argv.length === 0) {
    throw new UsageError("exec needs a command: exec [flags] CMD [ARG...]");
  }
  const timeout = v.timeout === undefined ? undefined : positiveNumber("--timeout", v.timeout, 0);
  const env = parseKeyValues(v.env ?? [], "--env");
  const tty = v.tty ?? false;
  const sandbox = execSandboxProfile(v, v.cwd ?? "/");
  const client: ExecServerClient = await connectFromFlags(v, Deno.env.toObject(), {
    clientName: "exec-server-cli",
    entry,
  });
  const raw = tty && Deno.stdin.isTerminal();
  try {
    const size = tty ? terminalSize() : null;
    let proc: ProcessHandle;
    try {
      proc = await client.start({
        argv,
        cwd: v.cwd ?? "/",
        env,
        envPolicy: inheritEnv(),
        ...(sandbox ? { sandbox } : {}),
        tty,
        pipeStdin: true,
        ...(size ? { size: { rows: size.rows, cols: size.columns } } : {}),
        ...(timeout ? { timeoutMs: Math.max(1, Math.round(timeout * 1000)) } : {}),
      });
    } catch (err) {
      if (err instanceof ExecServerError) {
        const kind = (err.data as { kind?: unknown } | null | undefined)?.kind;
        const cwdKnown =
          kind === ErrorKind.SpawnNotFound || kind === ErrorKind.SpawnPermissionDenied
            ? await cwdIsDirectory(client, v.cwd ?? "/")
            : null;
        throw new CliExit(err.message, startFailureCode(err, cwdKnown));
      }
      throw err;
    }
    const stop = stopOnSignals(proc, raw);
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
    let code: number = EXIT.connection;
    let timedOut = false;
    try {
      for await (const ev of proc.events()) {
        if (ev.type === "output") {
          await writeAll(ev.stream === "stderr" ? Deno.stderr : Deno.stdout, ev.data);
        } else if (ev.type === "exited") {
          code = ev.exitCode < 0 ? EXIT.connection : ev.exitCode;
          timedOut = ev.timedOut === true;
        } else if (ev.type === "gap") {
          console.error(
            `exec-server: ${ev.bytes ?? "some"} bytes of output were lost (server retention)`,
          );
        } else if (ev.type === "failed") {
          throw new CliExit(ev.message, EXIT.connection);
        }
      }
    } finally {
      if (raw) Deno.stdin.setRaw(false);
      if (onWinch) Deno.removeSignalListener("SIGWINCH", onWinch);
      stop.dispose();
    }
    const signal = stop.received();
    if (signal) return 128 + SIGNAL_NUMBERS[signal];
    if (timedOut) {
      console.error(
        `exec-server: ${argv[0]} timed out after ${timeout} s; its process tree was terminated`,
      );
      return EXIT.timedOut;
    }
    return code;
  } catch (err) {
    if (err instanceof ConnectionClosedError) throw new CliExit(err.message, EXIT.connection);
    throw err;
  } finally {
    await client.close();
  }
}
