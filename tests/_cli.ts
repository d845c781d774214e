// Copyright 2026 the exec-server authors. MIT license.
/**
 * The `exec-server` command as a user runs it, for CLI tests: built into the
 * one-file bundle once, then run as a subprocess with `deno run -A
 * --no-config`, from a directory outside the repository.
 *
 * @module
 */
import { buildBundle } from "./_sshd.ts";
import { waitUntil } from "./_harness.ts";

let bundlePath: Promise<string> | null = null;

/** The command line that runs the bundled CLI (built on first use). */
export async function cliCommand(): Promise<string[]> {
  bundlePath ??= buildBundle();
  return [Deno.execPath(), "run", "-A", "--no-config", await bundlePath];
}

/** What a finished CLI run printed. */
export interface CliResult {
  /** The exit code. */
  code: number;
  /** Everything on stdout. */
  stdout: string;
  /** Everything on stderr. */
  stderr: string;
}

/** Options of {@linkcode runCli} and {@linkcode spawnCli}. */
export interface CliOptions {
  /** Written to stdin, which is then closed. */
  input?: string;
  /** Extra environment. */
  env?: Record<string, string>;
  /** Working directory. @default {a temp dir} */
  cwd?: string;
}

/** Runs the CLI to completion. */
export async function runCli(args: string[], options: CliOptions = {}): Promise<CliResult> {
  const child = await spawnCli(args, options);
  return await child.finished();
}

/** A CLI subprocess whose output is collected as it arrives. */
export class CliProcess {
  /** Stdout so far. */
  stdout = "";
  /** Stderr so far. */
  stderr = "";
  readonly #child: Deno.ChildProcess;
  readonly #pumps: Promise<void>;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;

  /** Wraps a spawned child. */
  constructor(child: Deno.ChildProcess) {
    this.#child = child;
    this.#writer = child.stdin.getWriter();
    const pump = async (stream: ReadableStream<Uint8Array>, key: "stdout" | "stderr") => {
      for await (const chunk of stream.pipeThrough(new TextDecoderStream())) this[key] += chunk;
    };
    this.#pumps = Promise.all([pump(child.stdout, "stdout"), pump(child.stderr, "stderr")]).then(
      () => {},
    );
  }

  /** The OS pid. */
  get pid(): number {
    return this.#child.pid;
  }

  /** Writes to stdin. */
  async write(text: string): Promise<void> {
    await this.#writer.write(new TextEncoder().encode(text));
  }

  /** Closes stdin. */
  async closeStdin(): Promise<void> {
    await this.#writer.close().catch(() => {});
  }

  /** Sends a signal. */
  kill(signal: Deno.Signal): void {
    this.#child.kill(signal);
  }

  /** Waits until stdout or stderr matches `pattern`. */
  async waitFor(
    pattern: RegExp,
    where: "stdout" | "stderr" = "stdout",
    timeoutMs = 20_000,
  ): Promise<RegExpMatchArray> {
    return await waitUntil(() => this[where].match(pattern) ?? undefined, {
      timeoutMs,
      intervalMs: 20,
      message: `${pattern} on ${where} (so far: ${JSON.stringify(this[where].slice(-300))})`,
    });
  }

  /** Waits for the exit (killing it after `timeoutMs`), then returns everything. */
  async finished(timeoutMs = 60_000): Promise<CliResult> {
    await this.closeStdin();
    const timer = setTimeout(() => this.#child.kill("SIGKILL"), timeoutMs);
    const status = await this.#child.status;
    clearTimeout(timer);
    await this.#pumps;
    return { code: status.code, stdout: this.stdout, stderr: this.stderr };
  }
}

let scratch: Promise<string> | null = null;

/** Starts the CLI. */
export async function spawnCli(args: string[], options: CliOptions = {}): Promise<CliProcess> {
  const [program, ...rest] = await cliCommand();
  // An empty directory outside the repository: what a user's cwd is to the CLI.
  scratch ??= Deno.makeTempDir({ prefix: "exec-server-cli-cwd-" });
  const child = new CliProcess(
    new Deno.Command(program!, {
      args: [...rest, ...args],
      cwd: options.cwd ?? await scratch,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1", ...options.env },
    }).spawn(),
  );
  if (options.input !== undefined) {
    await child.write(options.input);
    await child.closeStdin();
  }
  return child;
}
