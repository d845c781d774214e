// Copyright 2026 the exec-server authors. MIT license.
import assert from "node:assert/strict";
import {
  type ChildSink,
  type ExitStatus,
  type SpawnOptions,
  StdinClosedError,
  type StreamName,
} from "../lib/process/child.ts";
import { ptySupport, spawnPty } from "../lib/process/pty.ts";

const PATH = "/usr/bin:/bin";
const decoder = new TextDecoder();

/** Collects what a child produces and lets a test await a condition. */
class Collector implements ChildSink {
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
async function waitFor(predicate: () => boolean, what: string, ms = 20_000) {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

function options(
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

async function run(
  argv: string[],
  extra: Partial<SpawnOptions> = {},
): Promise<Collector> {
  const sink = new Collector();
  await spawnPty(options(argv, extra), sink);
  await sink.until(() => sink.done, `${argv.join(" ")} to finish`);
  return sink;
}

function threadCount(): number {
  const status = Deno.readTextFileSync("/proc/self/status");
  return Number(/Threads:\s+(\d+)/.exec(status)?.[1]);
}

function fdCount(): number {
  return [...Deno.readDirSync("/proc/self/fd")].length;
}

/** True when the process is gone or a zombie. */
function processGone(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z");
  } catch {
    return true;
  }
}

function processState(pid: number): string {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
}

Deno.test("ptySupport() reports that terminals work here", () => {
  assert.deepEqual(ptySupport(), { ok: true });
});

Deno.test("spawnPty() gives the child a terminal", async (t) => {
  await t.step("fds 0, 1 and 2 are a tty", async () => {
    const sink = await run([
      "sh",
      "-c",
      "test -t 0 && test -t 1 && test -t 2 && echo yes",
    ]);
    assert.equal(sink.text, "yes\r\n");
    assert.deepEqual(sink.status, { code: 0, signal: null });
    assert.equal(sink.ends, 1);
  });

  await t.step("stty size shows the initial size and each resize", async () => {
    const sink = new Collector();
    const child = await spawnPty(
      options(["sh", "-c", "stty size; read x; stty size"], {
        size: { rows: 30, cols: 100 },
      }),
      sink,
    );
    assert.deepEqual(child.streams, ["pty"]);
    await sink.until(() => sink.text.includes("30 100"), "initial size");
    child.resize({ rows: 50, cols: 132 });
    await child.write(new TextEncoder().encode("\n"));
    await sink.until(() => sink.text.includes("50 132"), "new size");
    await sink.until(() => sink.done, "exit");
    assert.equal(sink.status?.code, 0);
    assert.throws(() => child.resize({ rows: -1, cols: 80 }), RangeError);
  });

  await t.step("arg0 replaces the argv[0] the program sees", async () => {
    const sink = await run(["cat", "/proc/self/cmdline"], { arg0: "kitty" });
    assert.equal(sink.text, "kitty\0/proc/self/cmdline\0");
  });

  await t.step("the environment is exactly the one given", async () => {
    const env = { PATH, FOO: "bar baz", EMPTY: "" };
    const sink = await run(["env"], { env });
    const lines = sink.text.split("\r\n").filter((line) => line !== "");
    assert.deepEqual(lines.sort(), ["EMPTY=", "FOO=bar baz", `PATH=${PATH}`]);
  });

  await t.step("cwd is honoured", async () => {
    const dir = await Deno.makeTempDir();
    try {
      const sink = await run(["pwd"], { cwd: dir });
      assert.equal(sink.text, `${await Deno.realPath(dir)}\r\n`);
    } finally {
      await Deno.remove(dir);
    }
  });

  await t.step("argv[0] is looked up in the child's PATH", async () => {
    const dir = await Deno.makeTempDir();
    try {
      await Deno.writeTextFile(`${dir}/hello-pty`, "#!/bin/sh\necho found\n", {
        mode: 0o755,
      });
      const sink = await run(["hello-pty"], { env: { PATH: `/nope:${dir}` } });
      assert.equal(sink.text, "found\r\n");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
});

Deno.test("spawnPty() rejects what it cannot start, leaking no fd", async (t) => {
  await run(["true"]); // loads libc and settles lazily opened fds
  const before = fdCount();

  await t.step("a program missing from PATH", async () => {
    await assert.rejects(
      spawnPty(options(["no-such-program-xyz"]), new Collector()),
      (error: Error) => {
        assert.equal(
          error.message,
          "No such file or directory (os error 2): no-such-program-xyz",
        );
        assert.ok(error instanceof Deno.errors.NotFound);
        return true;
      },
    );
  });

  await t.step("a program given by a path that does not exist", async () => {
    await assert.rejects(
      spawnPty(options(["/no/such/program"]), new Collector()),
      { message: "No such file or directory (os error 2): /no/such/program" },
    );
  });

  await t.step(
    "a PATH without the program (server PATH is ignored)",
    async () => {
      await assert.rejects(
        spawnPty(options(["sh"], { env: { PATH: "/nope" } }), new Collector()),
        { message: "No such file or directory (os error 2): sh" },
      );
    },
  );

  await t.step("a working directory that does not exist", async () => {
    await assert.rejects(
      spawnPty(options(["true"], { cwd: "/no/such/dir" }), new Collector()),
      { message: "No such file or directory (os error 2): cwd /no/such/dir" },
    );
  });

  await t.step("a working directory that is a file", async () => {
    await assert.rejects(
      spawnPty(options(["true"], { cwd: "/etc/passwd" }), new Collector()),
      { message: "Not a directory (os error 20): cwd /etc/passwd" },
    );
  });

  await t.step("a file that is not executable", async () => {
    await assert.rejects(
      spawnPty(options(["/etc/passwd"]), new Collector()),
      { message: "Permission denied (os error 13): /etc/passwd" },
    );
  });

  assert.equal(fdCount(), before);
});

Deno.test("Child.write() and closeStdin() type into the terminal", async (t) => {
  const encoder = new TextEncoder();

  await t.step("^C interrupts sleep with SIGINT", async () => {
    const sink = new Collector();
    const child = await spawnPty(options(["sleep", "100"]), sink);
    await child.write(encoder.encode("\x03"));
    await sink.until(() => sink.done, "sleep to die");
    assert.deepEqual(sink.status, { code: 130, signal: "SIGINT" });
  });

  await t.step("closeStdin() ends cat; later writes reject", async () => {
    const sink = new Collector();
    const child = await spawnPty(options(["cat"]), sink);
    await child.write(encoder.encode("hello\n"));
    // The terminal echoes the line, then cat prints it.
    await sink.until(() => sink.text === "hello\r\nhello\r\n", "echo");
    await child.closeStdin();
    await child.closeStdin();
    await sink.until(() => sink.done, "cat to exit");
    assert.deepEqual(sink.status, { code: 0, signal: null });
    await assert.rejects(child.write(encoder.encode("x")), StdinClosedError);
  });

  await t.step("closeStdin() after a partial line still ends cat", async () => {
    const sink = new Collector();
    const child = await spawnPty(options(["cat"]), sink);
    await child.write(encoder.encode("abc"));
    await child.closeStdin();
    await sink.until(() => sink.done, "cat to exit");
    assert.deepEqual(sink.status, { code: 0, signal: null });
    assert.match(sink.text, /^abcabc/);
  });

  await t.step("write() after the terminal closed rejects", async () => {
    const sink = new Collector();
    const child = await spawnPty(options(["true"]), sink);
    await sink.until(() => sink.done, "true to exit");
    await assert.rejects(child.write(encoder.encode("x")), StdinClosedError);
    await child.closeStdin();
  });

  await t.step("a write larger than the kernel buffer is queued", async () => {
    const sink = new Collector();
    const script = "stty raw -echo; echo ready; head -c 300000 | wc -c";
    const child = await spawnPty(options(["sh", "-c", script]), sink);
    await sink.until(() => sink.text.includes("ready"), "raw mode");
    await child.write(new Uint8Array(300000).fill(0x78));
    await sink.until(() => sink.done, "wc to finish");
    assert.match(sink.text, /300000/);
  });
});

Deno.test("Child.signal() reaches the whole process group", async () => {
  const sink = new Collector();
  const child = await spawnPty(
    // The grandchild ignores SIGHUP, so only the group-wide SIGTERM kills it.
    options(["sh", "-c", 'trap "" HUP; sleep 100 & echo "bg:$!"; wait']),
    sink,
  );
  await sink.until(() => /bg:\d+\r\n/.test(sink.text), "background pid");
  const grandchild = Number(/bg:(\d+)/.exec(sink.text)?.[1]);
  assert.ok(!processGone(grandchild));
  child.signal("SIGTERM");
  await sink.until(() => sink.done, "shell to die");
  assert.deepEqual(sink.status, { code: 143, signal: "SIGTERM" });
  await waitFor(() => processGone(grandchild), "grandchild to die");
  child.signal("SIGTERM"); // a gone group is not an error
});

Deno.test("spawnPty() serves 200 terminals with one reactor", async () => {
  await run(["true"]);
  const before = fdCount();
  const count = 200;
  const size = 1_000_000;
  const sinks = Array.from({ length: count }, () => new Collector(() => {}));
  await Promise.all(
    sinks.map((sink) => spawnPty(options(["head", "-c", String(size), "/dev/zero"]), sink)),
  );
  const all = Promise.all(
    sinks.map((sink) => sink.until(() => sink.done, "exit", 60_000)),
  );
  let finished = false;
  all.finally(() => finished = true).catch(() => {});
  // Unrelated async file I/O must not be starved by the terminals, and the
  // thread count must not grow with them (one poll serves all).
  const threadsBefore = threadCount();
  let maxThreads = threadsBefore;
  let slowest = 0;
  let reads = 0;
  while (!finished) {
    const t0 = performance.now();
    await Deno.readTextFile("/proc/self/stat");
    slowest = Math.max(slowest, performance.now() - t0);
    maxThreads = Math.max(maxThreads, threadCount());
    reads++;
  }
  await all;
  for (const sink of sinks) {
    assert.equal(sink.bytes, size);
    assert.equal(sink.bytesAtExit, size, "all output comes before exit");
    assert.deepEqual(sink.status, { code: 0, signal: null });
    assert.equal(sink.ends, 1);
  }
  assert.ok(reads > 1);
  assert.ok(slowest < 250, `readTextFile took ${slowest.toFixed(1)} ms`);
  assert.ok(maxThreads <= threadsBefore + 6, `threads: ${threadsBefore} -> ${maxThreads}`);
  assert.equal(fdCount(), before);
});

Deno.test("spawnPty() stops reading while the sink applies backpressure", async () => {
  const size = 2_000_000;
  let gate: PromiseWithResolvers<void> | null = Promise.withResolvers<void>();
  const sink = new Collector(() => gate?.promise ?? Promise.resolve());
  const child = await spawnPty(
    options(["head", "-c", String(size), "/dev/zero"]),
    sink,
  );
  await sink.until(() => sink.outputCalls === 1, "first chunk");
  const first = sink.bytes;
  // Other terminals keep working, and the paused child blocks on a full tty.
  const other = await run(["echo", "other"]);
  assert.equal(other.text, "other\r\n");
  await waitFor(() => processState(child.pid) === "S", "head to block");
  assert.equal(sink.outputCalls, 1);
  assert.equal(sink.bytes, first);
  assert.equal(sink.status, null);
  gate.resolve();
  gate = null;
  await sink.until(() => sink.done, "head to finish");
  assert.equal(sink.bytes, size);
  assert.equal(sink.bytesAtExit, size);
});

Deno.test("spawnPty() explains a missing --allow-ffi permission", async () => {
  const url = new URL("../lib/process/pty.ts", import.meta.url).href;
  const script = `
    import { ptySupport, spawnPty } from ${JSON.stringify(url)};
    let message = "";
    try {
      await spawnPty({ argv: ["true"], arg0: null, cwd: "/", env: {}, tty: true,
        pipeStdin: false, size: { rows: 24, cols: 80 } },
        { output() {}, end() {}, exit() {} });
    } catch (error) { message = error.message; }
    console.log(JSON.stringify({ support: ptySupport(), message }));
  `;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-prompt", "--no-config", "-"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(script));
  await writer.close();
  const { code, stdout, stderr } = await child.output();
  assert.equal(code, 0, decoder.decode(stderr));
  const reason = "Cannot start a terminal (tty:true): the server lacks the --allow-ffi permission";
  assert.deepEqual(JSON.parse(decoder.decode(stdout)), {
    support: { ok: false, reason },
    message: reason,
  });
});
