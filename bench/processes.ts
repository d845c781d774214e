// Copyright 2026 the exec-server authors. MIT license.
/**
 * The process plumbing of the bench: the real exec-server as a subprocess,
 * daemons on loopback ports, bounded command runs, and a
 * {@linkcode Cleanup} stack so that everything started is stopped (and its
 * files removed) on exit.
 *
 * @module
 */
import { messageOf } from "../lib/util/mod.ts";

const ROOT = new URL("..", import.meta.url).pathname;
/**
 * The server entry point; `EXEC_SERVER_BENCH_MAIN` points the bench at another
 * checkout's `main.ts`, to compare a change with the baseline.
 */
const MAIN = Deno.env.get("EXEC_SERVER_BENCH_MAIN") || `${ROOT}main.ts`;

/** A LIFO stack of cleanup steps; each step runs once, bounded in time. */
export class Cleanup {
  readonly #steps: { what: string; run: () => Promise<void> | void }[] = [];

  /** Registers a step; returns a function that runs it now (and unregisters it). */
  add(what: string, run: () => Promise<void> | void): () => Promise<void> {
    const step = { what, run };
    this.#steps.push(step);
    return async () => {
      const i = this.#steps.indexOf(step);
      if (i < 0) return;
      this.#steps.splice(i, 1);
      await runBounded(step);
    };
  }

  /** Runs every step, newest first. */
  async runAll(): Promise<void> {
    while (this.#steps.length > 0) await runBounded(this.#steps.pop()!);
  }
}

async function runBounded(step: { what: string; run: () => Promise<void> | void }) {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([
      Promise.resolve().then(step.run),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error("timed out after 10 s")), 10_000);
      }),
    ]);
  } catch (err) {
    console.error(`bench: cleanup of ${step.what} failed: ${messageOf(err)}`);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A size from `/proc/PID/status` in bytes: `VmRSS` (resident now) or `VmHWM`
 * (the peak); null when the process is gone or this is not Linux.
 */
export function memoryOf(pid: number, field: "VmRSS" | "VmHWM" = "VmRSS"): number | null {
  try {
    const status = Deno.readTextFileSync(`/proc/${pid}/status`);
    const m = new RegExp(`^${field}:\\s+(\\d+)\\s+kB`, "m").exec(status);
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/** Kills a child and waits for it, with SIGKILL if SIGTERM is not enough. */
export async function stopChild(child: Deno.ChildProcess, graceMs = 3000): Promise<void> {
  try {
    child.kill("SIGTERM");
  } catch {
    // already gone
  }
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
  }, graceMs);
  await child.status;
  clearTimeout(timer);
}

/** Collects the last `max` characters of a stream (and drains it). */
export function tail(stream: ReadableStream<Uint8Array>, max = 16_384): () => string {
  let text = "";
  void (async () => {
    try {
      for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
        text = (text + chunk).slice(-max);
      }
    } catch {
      // closed
    }
  })();
  return () => text;
}

/** A running `main.ts serve` (or another server that printed its URL). */
export interface ServerHandle {
  /** `ws://127.0.0.1:PORT`. */
  url: string;
  /** The server's pid (for ours, the Deno process itself). */
  pid: number;
  /** Stops it (SIGTERM, then SIGKILL) and waits. */
  stop(): Promise<void>;
  /** What it wrote to stderr, the last 16 KiB. */
  stderr(): string;
}

/** What {@linkcode readFirstLine} read. */
export interface FirstLine {
  /** The first line, without its `\n`. */
  line: string;
  /** What followed the line in the same reads, as it came. */
  rest: string;
  /** The rest of the stream, decoded; the caller owns it. */
  reader: ReadableStreamDefaultReader<string>;
}

/**
 * Reads a child's stdout up to its first newline (a server prints its URL
 * there), waiting at most `timeoutMs`. On failure the stream is cancelled.
 *
 * @throws {Error} When no whole line came in time or the stream ended first.
 *
 * @example
 * ```ts
 * import { readFirstLine } from "./processes.ts";
 * import assert from "node:assert/strict";
 * const bytes = (s: string) => new TextEncoder().encode(s);
 * const first = await readFirstLine(ReadableStream.from([bytes("ws://h:1"), bytes("\nmore")]), 1000);
 * assert.equal(first.line, "ws://h:1");
 * assert.equal(first.rest, "more");
 * await first.reader.cancel();
 * ```
 */
export async function readFirstLine(
  stdout: ReadableStream<Uint8Array>,
  timeoutMs: number,
): Promise<FirstLine> {
  const reader = stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = "";
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`no line on stdout within ${timeoutMs} ms`)),
      timeoutMs,
    );
  });
  try {
    while (!buffered.includes("\n")) {
      const next = await Promise.race([reader.read(), late]);
      if (next.done) throw new Error(`stdout ended before a line: ${JSON.stringify(buffered)}`);
      buffered += next.value;
    }
  } catch (err) {
    await reader.cancel().catch(() => {});
    throw err;
  } finally {
    clearTimeout(timer);
  }
  const nl = buffered.indexOf("\n");
  return { line: buffered.slice(0, nl), rest: buffered.slice(nl + 1), reader };
}

/** Starts the real server as a subprocess on a free loopback port. */
export function startServer(
  cleanup: Cleanup,
  args: string[] = [],
  timeoutMs = 30_000,
): Promise<ServerHandle> {
  return startListening(
    cleanup,
    "server",
    Deno.execPath(),
    ["run", "-A", MAIN, "serve", "--listen", "ws://127.0.0.1:0", ...args],
    { env: { NO_COLOR: "1" }, timeoutMs },
  );
}

/**
 * Starts a program that prints the URL it listens on as its first line on
 * stdout (our server, `codex exec-server`), registers its stop with
 * `cleanup`, and resolves once the line is there.
 */
export async function startListening(
  cleanup: Cleanup,
  what: string,
  program: string,
  args: string[],
  options: { env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<ServerHandle> {
  const child = new Deno.Command(program, {
    args,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    ...(options.env ? { env: options.env } : {}),
  }).spawn();
  const stop = cleanup.add(`${what} ${child.pid}`, () => stopChild(child));
  const stderr = tail(child.stderr);
  let first: FirstLine;
  try {
    first = await readFirstLine(child.stdout, options.timeoutMs ?? 30_000);
  } catch (err) {
    await stop();
    throw new Error(`Cannot start ${what}: ${messageOf(err)}; stderr: ${stderr()}`);
  }
  const url = first.line.trim();
  void (async () => {
    try {
      for (;;) if ((await first.reader.read()).done) break;
    } catch {
      // closed
    }
  })();
  return { url, pid: child.pid, stop, stderr };
}

/** Finds a free TCP port on 127.0.0.1 (bind to 0, read it, release it). */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** Waits until something accepts TCP connections on 127.0.0.1:port. */
async function waitForPort(port: number, timeoutMs: number, alive: () => boolean) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!alive()) throw new Error("it exited during startup");
    try {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      conn.close();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  throw new Error(`nothing listened on 127.0.0.1:${port} within ${timeoutMs} ms`);
}

/**
 * Starts a daemon that listens on `port`, registers its stop with `cleanup`,
 * and resolves once the port accepts connections; returns the stop function.
 */
export async function startDaemon(
  name: string,
  program: string,
  args: string[],
  port: number,
  cleanup: Cleanup,
): Promise<() => Promise<void>> {
  const child = new Deno.Command(program, {
    args,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let exited = false;
  child.status.then(() => exited = true);
  const stderr = tail(child.stderr);
  const stop = cleanup.add(`${name} ${child.pid}`, () => stopChild(child));
  try {
    await waitForPort(port, 5000, () => !exited);
  } catch (err) {
    await stop();
    throw new Error(`${name} did not start: ${messageOf(err)}; ${stderr().trim()}`);
  }
  return stop;
}

/** Runs a command to completion with a time bound; returns status and output. */
export async function run(
  program: string,
  args: string[],
  options: { timeoutMs?: number; env?: Record<string, string>; stdin?: string } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = new Deno.Command(program, {
    args,
    stdin: options.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
    ...(options.env ? { env: options.env } : {}),
  }).spawn();
  if (options.stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(options.stdin));
    await w.close();
  }
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch {
      // gone
    }
  }, options.timeoutMs ?? 60_000);
  const out = await child.output();
  clearTimeout(timer);
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** Absolute path of a program on PATH (or in the sbin directories), or null. */
export function which(name: string): string | null {
  const dirs = (Deno.env.get("PATH") ?? "").split(":").concat(["/usr/sbin", "/sbin"]);
  for (const dir of dirs) {
    if (!dir) continue;
    const path = `${dir}/${name}`;
    try {
      const info = Deno.statSync(path);
      if (info.isFile && ((info.mode ?? 0) & 0o111) !== 0) return path;
    } catch {
      // not here
    }
  }
  return null;
}

export function isRoot(): boolean {
  try {
    return Deno.uid() === 0;
  } catch {
    return false;
  }
}
