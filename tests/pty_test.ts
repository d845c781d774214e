// Copyright 2026 the exec-server authors. MIT license.
import assert from "node:assert/strict";
import { StdinClosedError } from "../lib/process/child.ts";
import { ptySupport, spawnPty } from "../lib/process/pty.ts";
import {
  Collector,
  options,
  PATH,
  probe,
  processGone,
  processState,
  REJECTED_STARTS,
  run,
  waitFor,
} from "./_pty.ts";

const decoder = new TextDecoder();

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

Deno.test("spawnPty() rejects what it cannot start", async (t) => {
  for (const start of REJECTED_STARTS) {
    await t.step(start.what, async () => {
      await assert.rejects(spawnPty(start.options, new Collector()), { message: start.message });
    });
  }
  await assert.rejects(
    spawnPty(REJECTED_STARTS[0]!.options, new Collector()),
    Deno.errors.NotFound,
  );
});

Deno.test("spawnPty() leaks no fd when it rejects a start (in a process of its own)", async () => {
  const got = await probe<{
    before: number;
    after: number;
    failures: { message: string; notFound: boolean }[];
  }>("rejects");
  assert.deepEqual(got.failures.map((f) => f.message), REJECTED_STARTS.map((s) => s.message));
  assert.equal(got.failures[0]!.notFound, true);
  assert.equal(got.after, got.before, "fds of the process that tried the starts");
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

Deno.test("spawnPty() serves 200 terminals with one reactor (in a process of its own)", async () => {
  const got = await probe<{
    count: number;
    wrong: unknown[];
    burstMs: number;
    reads: number;
    slowest: number;
    threadsBefore: number;
    maxThreads: number;
    before: number;
    after: number;
  }>("many");
  assert.equal(got.count, 200);
  // Each got all its output before its exit, exit code 0, one end of stream.
  assert.deepEqual(got.wrong, []);
  assert.ok(got.reads > 1);
  // Unrelated async file I/O was not starved: no read waited for more than a
  // fraction of the burst. (An absolute bound fails on a loaded machine,
  // where the burst itself takes several times longer.)
  const bound = Math.max(250, got.burstMs / 10);
  assert.ok(
    got.slowest < bound,
    `a readTextFile took ${got.slowest.toFixed(0)} ms of a ${got.burstMs.toFixed(0)} ms burst`,
  );
  // One poll served all: threads do not grow with the terminals. (Deno's
  // blocking pool does add a few when the machine is busy: 6 -> 15 measured
  // with other suites running, hence a tenth of the terminals, not a handful.)
  assert.ok(
    got.maxThreads <= got.threadsBefore + got.count / 10,
    `threads: ${got.threadsBefore} -> ${got.maxThreads} for ${got.count} terminals`,
  );
  assert.equal(got.after, got.before, "fds of the process that ran the terminals");
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

Deno.test("spawnPty() gathers what several reads find queued into one chunk", async () => {
  // The tty layer hands out at most 4 KiB per read; each read was its own
  // chunk (so its own frame on the wire): 100 MB were 24,000 frames.
  const size = 300_000;
  const sizes: number[] = [];
  let gate: PromiseWithResolvers<void> | null = Promise.withResolvers<void>();
  const sink = new Collector((data) => {
    sizes.push(data.byteLength);
    return gate?.promise;
  });
  const child = await spawnPty(options(["head", "-c", String(size), "/dev/zero"]), sink);
  await sink.until(() => sink.outputCalls === 1, "first chunk");
  // While the sink holds the first chunk, head fills the terminal's buffers.
  await waitFor(() => processState(child.pid) === "S", "head to block on a full tty");
  gate.resolve();
  gate = null;
  await sink.until(() => sink.done, "head to finish");
  assert.equal(sink.bytes, size);
  const largest = Math.max(...sizes.slice(1));
  assert.ok(largest > 4096, `a chunk after the pause holds several reads: largest ${largest}`);
  assert.ok(largest <= 64 * 1024, `and at most 64 KiB: ${largest}`);
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
