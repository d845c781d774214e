// Copyright 2026 the exec-server authors. MIT license.
/**
 * Helpers for the terminal tests: a sink that collects a child's output,
 * spawn options, and this process's fd and thread counts (meaningful only in
 * a process of its own: see tests/_pty_probe.ts).
 *
 * @module
 */
import assert from "node:assert/strict";
import type { ChildSink, ExitStatus, SpawnOptions, StreamName } from "../lib/process/child.ts";
import { spawnPty } from "../lib/process/pty.ts";
import { openFds } from "./_harness.ts";

/** The PATH children get. */
export const PATH = "/usr/bin:/bin";
const decoder = new TextDecoder();

/** Collects what a child produces and lets a test await a condition. */
export class Collector implements ChildSink {
  chunks: Uint8Array[] = [];
  bytes = 0;
  outputCalls = 0;
  ends = 0;
  status: ExitStatus | null = null;
  /** Bytes received when `exit` was called. */
  bytesAtExit = -1;
  #waiters = new Set<() => void>();
  #onOutput: ((data: Uint8Array) => void | Promise<void>) | null;

  constructor(onOutput?: (data: Uint8Array) => void | Promise<void>) {
    this.#onOutput = onOutput ?? null;
  }

  output(stream: StreamName, data: Uint8Array): void | Promise<void> {
    assert.equal(stream, "pty");
    this.outputCalls++;
    this.bytes += data.length;
    if (this.#onOutput === null) this.chunks.push(data);
    this.#notify();
    return this.#onOutput?.(data);
  }

  end(stream: StreamName): void {
    assert.equal(stream, "pty");
    this.ends++;
    this.#notify();
  }

  exit(status: ExitStatus): void {
    assert.equal(this.status, null, "exit must be reported once");
    this.status = status;
    this.bytesAtExit = this.bytes;
    this.#notify();
  }

  get text(): string {
    const all = new Uint8Array(this.chunks.reduce((n, c) => n + c.length, 0));
    let offset = 0;
    for (const chunk of this.chunks) {
      all.set(chunk, offset);
      offset += chunk.length;
    }
    return decoder.decode(all);
  }

  get done(): boolean {
    return this.status !== null && this.ends > 0;
  }

  /** Resolves once `predicate()` holds after some sink call; rejects at the deadline. */
  async until(predicate: () => boolean, what: string, ms = 20_000) {
    if (predicate()) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let check = () => {};
    try {
      await new Promise<void>((resolve, reject) => {
        check = () => {
          if (predicate()) resolve();
        };
        this.#waiters.add(check);
        timer = setTimeout(() => {
          const tail = JSON.stringify(this.text.slice(-300));
          reject(new Error(`Timed out waiting for ${what}; output: ${tail}`));
        }, ms);
      });
    } finally {
      clearTimeout(timer);
      this.#waiters.delete(check);
    }
  }

  #notify(): void {
    for (const waiter of [...this.#waiters]) waiter();
  }
}

/** Polls `predicate` (for state outside any sink) until it holds or the deadline passes. */
export async function waitFor(predicate: () => boolean, what: string, ms = 20_000) {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Spawn options for a terminal child running `argv`. */
export function options(
  argv: string[],
  extra: Partial<SpawnOptions> = {},
): SpawnOptions {
  return {
    argv,
    arg0: null,
    cwd: "/",
    env: { PATH },
    tty: true,
    pipeStdin: false,
    size: { rows: 24, cols: 80 },
    ...extra,
  };
}

/** Runs `argv` on a terminal to the end and returns what it produced. */
export async function run(
  argv: string[],
  extra: Partial<SpawnOptions> = {},
): Promise<Collector> {
  const sink = new Collector();
  await spawnPty(options(argv, extra), sink);
  await sink.until(() => sink.done, `${argv.join(" ")} to finish`);
  return sink;
}

/** Threads of this process. */
export function threadCount(): number {
  const status = Deno.readTextFileSync("/proc/self/status");
  return Number(/Threads:\s+(\d+)/.exec(status)?.[1]);
}

/** Open fds of this process, sockets left out (see {@linkcode openFds}). */
export function fdCount(): number {
  return openFds("self");
}

/** True when the process is gone or a zombie. */
export function processGone(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z");
  } catch {
    return true;
  }
}

/** The state letter of a process (R, S, Z, …). */
export function processState(pid: number): string {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
}

/** Starts that must fail, and the message each fails with. */
export const REJECTED_STARTS: { what: string; options: SpawnOptions; message: string }[] = [
  {
    what: "a program missing from PATH",
    options: options(["no-such-program-xyz"]),
    message: "No such file or directory (os error 2): no-such-program-xyz",
  },
  {
    what: "a program given by a path that does not exist",
    options: options(["/no/such/program"]),
    message: "No such file or directory (os error 2): /no/such/program",
  },
  {
    what: "a PATH without the program (server PATH is ignored)",
    options: options(["sh"], { env: { PATH: "/nope" } }),
    message: "No such file or directory (os error 2): sh",
  },
  {
    what: "a working directory that does not exist",
    options: options(["true"], { cwd: "/no/such/dir" }),
    message: "No such file or directory (os error 2): cwd /no/such/dir",
  },
  {
    what: "a working directory that is a file",
    options: options(["true"], { cwd: "/etc/passwd" }),
    message: "Not a directory (os error 20): cwd /etc/passwd",
  },
  {
    what: "a file that is not executable",
    options: options(["/etc/passwd"]),
    message: "Permission denied (os error 13): /etc/passwd",
  },
];

/**
 * Runs a scenario of tests/_pty_probe.ts in a process of its own and returns
 * what it measured. `deno test --parallel` runs every test file in one
 * process, so only a process of its own has fd and thread counts that belong
 * to one test.
 */
export async function probe<T>(scenario: "rejects" | "many"): Promise<T> {
  const script = new URL("./_pty_probe.ts", import.meta.url).pathname;
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", script, scenario],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(code, 0, `probe ${scenario} failed: ${decoder.decode(stderr)}`);
  return JSON.parse(decoder.decode(stdout)) as T;
}
