// Copyright 2026 the exec-server authors. MIT license.
// End-to-end process tests against the real server, after codex's
// tests/exec_process.rs.
import assert from "node:assert/strict";
import { assertAllGone, ResponseError, ServerProcess, TestClient, text } from "./_harness.ts";

Deno.test("process/* over a real socket", async (t) => {
  await using server = await ServerProcess.start();
  await using c = await TestClient.connect(server.url);

  await t.step("starts and exits", async () => {
    assert.deepEqual(await c.start("true-1", ["true"]), {
      processId: "true-1",
      sandboxType: "none",
    });
    const events = await c.untilClosed("true-1");
    const exited = events.find((e) => e.method === "process/exited");
    assert.equal(exited?.params.exitCode, 0);
  });

  await t.step("streams output through long-poll reads", async () => {
    await c.start("stream", ["sh", "-c", "sleep 0.05; printf hello"]);
    let after = 0;
    let out = "";
    for (let i = 0; i < 100; i++) {
      const r = await c.request("process/read", {
        processId: "stream",
        afterSeq: after,
        waitMs: 2000,
      });
      for (const ch of r.chunks) out += text(Uint8Array.fromBase64(ch.chunk));
      after = r.nextSeq - 1;
      if (r.closed) break;
    }
    assert.equal(out, "hello");
  });

  await t.step("pushes events in seq order: stdout 1, stderr 2, exit 3, closed 4", async () => {
    await c.start("pushed", [
      "sh",
      "-c",
      "printf out; sleep 0.05; printf err >&2; sleep 0.05; exit 7",
    ]);
    const events = await c.untilClosed("pushed");
    assert.deepEqual(
      events.map((e) => [e.method, e.params.seq, e.params.stream ?? e.params.exitCode ?? null]),
      [
        ["process/output", 1, "stdout"],
        ["process/output", 2, "stderr"],
        ["process/exited", 3, 7],
        ["process/closed", 4, null],
      ],
    );
  });

  await t.step("retains output produced after exit until the streams close", async () => {
    await c.start("late", ["sh", "-c", "(sleep 0.4; printf late) & exit 0"]);
    const events = await c.untilClosed("late");
    const methods = events.map((e) => e.method);
    assert.deepEqual(methods, ["process/exited", "process/output", "process/closed"]);
    const r = await c.request("process/read", { processId: "late", afterSeq: 0 });
    assert.equal(text(Uint8Array.fromBase64(r.chunks[0].chunk)), "late");
    assert.equal(r.closed, true);
    assert.equal(r.exited, true);
  });

  await t.step("writes to a piped stdin, and closeStdin delivers EOF", async () => {
    await c.start("cat", ["cat"], { pipeStdin: true });
    const w = await c.request("process/write", {
      processId: "cat",
      chunk: new TextEncoder().encode("ping\n").toBase64(),
    });
    assert.equal(w.status, "accepted");
    await c.waitUntil(() => text(c.outputOf("cat")) === "ping\n" || undefined, 5000, "echo");
    assert.deepEqual(await c.request("process/closeStdin", { processId: "cat" }), {
      status: "accepted",
    });
    await c.untilClosed("cat");
    assert.deepEqual(await c.request("process/closeStdin", { processId: "cat" }), {
      status: "stdinClosed",
    });
  });

  await t.step("write without pipeStdin reports stdinClosed and the child sees EOF", async () => {
    await c.start("nostdin", ["sh", "-c", "cat; echo eof"]);
    const w = await c.request("process/write", { processId: "nostdin", chunk: "aGkK" });
    assert.equal(w.status, "stdinClosed");
    await c.untilClosed("nostdin");
    assert.equal(text(c.outputOf("nostdin")), "eof\n");
  });

  await t.step("write to an unknown process reports unknownProcess", async () => {
    const w = await c.request("process/write", { processId: "nope", chunk: "aGkK" });
    assert.equal(w.status, "unknownProcess");
  });

  await t.step("events produced before anyone reads are not lost", async () => {
    await c.start("early", ["printf", "abc"]);
    await c.untilClosed("early");
    const r = await c.request("process/read", { processId: "early" });
    assert.equal(text(Uint8Array.fromBase64(r.chunks[0].chunk)), "abc");
    assert.equal(r.nextSeq, 4, "a read that reaches the end counts the exit and the close");
    assert.equal(r.closed, true);
  });

  await t.step("of two concurrent starts with one id exactly one succeeds", async () => {
    const params = { processId: "dup", argv: ["sleep", "0.2"], cwd: "/tmp", env: {}, tty: false };
    const results = await Promise.all([
      c.call("process/start", params),
      c.call("process/start", params),
    ]);
    const ok = results.filter((r) => r.result);
    const err = results.filter((r) => r.error);
    assert.equal(ok.length, 1);
    assert.equal(err.length, 1);
    assert.equal(err[0]!.error.code, -32600);
    assert.equal(err[0]!.error.message, "process dup already exists");
  });

  await t.step("spawn failure gives -32603 with the OS reason and frees the id", async () => {
    const missing = await c.call("process/start", {
      processId: "miss",
      argv: ["/no/such/bin"],
      cwd: "/tmp",
      env: {},
      tty: false,
    });
    assert.equal(missing.error.code, -32603);
    assert.match(missing.error.message, /No such file or directory|not found/i);
    const badCwd = await c.call("process/start", {
      processId: "miss",
      argv: ["true"],
      cwd: "/no/such/dir",
      env: {},
      tty: false,
    });
    assert.equal(badCwd.error.code, -32603);
    assert.match(badCwd.error.message, /\/no\/such\/dir does not exist/);
    await c.start("miss", ["true"]);
    await c.untilClosed("miss");
  });

  await t.step("cwd: relative rejected with -32602, file:// URI accepted", async () => {
    const rel = await c.call("process/start", {
      processId: "rel",
      argv: ["pwd"],
      cwd: "tmp",
      env: {},
      tty: false,
    });
    assert.equal(rel.error.code, -32602);
    assert.match(rel.error.message, /cwd must be absolute/);
    await c.start("uri", ["pwd"], { cwd: "file:///usr" });
    await c.untilClosed("uri");
    assert.equal(text(c.outputOf("uri")), "/usr\n");
  });

  await t.step("argv must not be empty", async () => {
    const r = await c.call("process/start", {
      processId: "empty",
      argv: [],
      cwd: "/tmp",
      env: {},
      tty: false,
    });
    assert.equal(r.error.code, -32602);
    assert.match(r.error.message, /argv must not be empty/);
  });

  await t.step("without envPolicy the environment is exactly env", async () => {
    await c.request("process/start", {
      processId: "env-exact",
      argv: ["/usr/bin/env"],
      cwd: "/tmp",
      env: { ONLY: "this" },
      tty: false,
    });
    await c.untilClosed("env-exact");
    assert.equal(text(c.outputOf("env-exact")), "ONLY=this\n");
  });

  await t.step("with envPolicy, env overlays the policy's result", async () => {
    await c.request("process/start", {
      processId: "env-policy",
      argv: ["/usr/bin/env"],
      cwd: "/tmp",
      env: { EXTRA: "1", HOME: "/overlay" },
      envPolicy: {
        inherit: "core",
        ignoreDefaultExcludes: false,
        exclude: [],
        set: { SET_ME: "x" },
        includeOnly: [],
      },
      tty: false,
    });
    await c.untilClosed("env-policy");
    const lines = text(c.outputOf("env-policy")).trim().split("\n").sort();
    assert.ok(lines.includes("EXTRA=1"));
    assert.ok(lines.includes("HOME=/overlay"));
    assert.ok(lines.includes("SET_ME=x"));
    assert.ok(lines.some((l) => l.startsWith("PATH=")));
    assert.ok(
      !lines.some((l) => l.startsWith("NO_COLOR=")),
      "non-core variables are not inherited",
    );
  });

  await t.step("arg0 overrides what the program sees as argv[0]", async () => {
    await c.start("arg0", ["sh", "-c", "echo $0"], { arg0: "custom-name" });
    await c.untilClosed("arg0");
    assert.equal(text(c.outputOf("arg0")), "custom-name\n");
    await c.request("process/start", {
      processId: "arg0-env",
      argv: ["/usr/bin/env"],
      cwd: "/tmp",
      env: { ONLY: "this" },
      tty: false,
      arg0: "renamed",
    });
    await c.untilClosed("arg0-env");
    assert.equal(text(c.outputOf("arg0-env")), "ONLY=this\n", "the environment stays exactly env");
    const missing = await c.call("process/start", {
      processId: "arg0-missing",
      argv: ["no-such-program"],
      cwd: "/tmp",
      env: {},
      tty: false,
      arg0: "x",
    });
    assert.equal(missing.error.code, -32603);
  });

  await t.step("death by signal: exitCode 128+N and the signal name", async () => {
    await c.start("killed", ["sh", "-c", "kill -TERM $$"]);
    const events = await c.untilClosed("killed");
    const exited = events.find((e) => e.method === "process/exited")!;
    assert.equal(exited.params.exitCode, 143);
    assert.equal(exited.params.signal, "SIGTERM");
  });

  await t.step("terminate of a process tree leaves no descendant", async () => {
    await c.start("tree", [
      "sh",
      "-c",
      "sleep 100 & echo $!; sleep 100 & echo $!; trap '' TERM; wait",
    ]);
    const pids = await c.waitUntil(
      () => {
        const lines = text(c.outputOf("tree")).trim().split("\n").filter(Boolean);
        return lines.length === 2 ? lines.map(Number) : undefined;
      },
      5000,
      "two pids",
    );
    const list = await c.request("process/list", {});
    const shellPid = list.processes.find((p: { processId: string }) => p.processId === "tree").pid;
    assert.deepEqual(await c.request("process/terminate", { processId: "tree" }), {
      running: true,
    });
    await c.untilClosed("tree");
    await assertAllGone([...pids, shellPid]);
    assert.deepEqual(await c.request("process/terminate", { processId: "tree" }), {
      running: false,
    });
    assert.deepEqual(await c.request("process/terminate", { processId: "unknown" }), {
      running: false,
    });
  });

  await t.step("read of an unknown process is -32600", async () => {
    const r = await c.call("process/read", { processId: "ghost" });
    assert.equal(r.error.code, -32600);
    assert.equal(r.error.message, "unknown process id ghost");
  });

  await t.step("process/list reports state, pid, exit code and lastSeq", async () => {
    const { processes } = await c.request("process/list", {});
    const pushed = processes.find((p: { processId: string }) => p.processId === "pushed");
    assert.equal(pushed.state, "closed");
    assert.equal(pushed.exitCode, 7);
    assert.equal(pushed.lastSeq, 4);
    assert.equal(typeof pushed.pid, "number");
    assert.deepEqual(pushed.argv.slice(0, 2), ["sh", "-c"]);
    assert.ok(pushed.startedAt > Date.now() - 60_000);
  });

  await t.step("timeoutMs terminates the tree and exited carries timedOut", async () => {
    await c.start("slow", ["sleep", "100"], { timeoutMs: 200 });
    const events = await c.untilClosed("slow");
    const exited = events.find((e) => e.method === "process/exited")!;
    assert.equal(exited.params.timedOut, true);
    assert.equal(exited.params.signal, "SIGTERM");
  });

  await t.step("timeoutMs ends descendants that outlive their leader", async () => {
    await c.start("orphans", ["sh", "-c", "sleep 30 & echo $!"], { timeoutMs: 300 });
    const pid = await c.waitUntil(
      () => {
        const s = text(c.outputOf("orphans")).trim();
        return s ? Number(s) : undefined;
      },
      5000,
      "pid",
    );
    await c.untilClosed("orphans", 10_000);
    await assertAllGone([pid]);
  });

  await t.step("the error class is ResponseError for failed requests", async () => {
    await assert.rejects(c.request("process/read", { processId: "ghost" }), ResponseError);
  });
});

Deno.test("seq 1 2000000 arrives complete on stdout and stderr, exit after the last byte", async () => {
  await using server = await ServerProcess.start();
  await using c = await TestClient.connect(server.url);
  await c.start("out", ["seq", "1", "2000000"]);
  await c.start("err", ["sh", "-c", "seq 1 2000000 >&2"]);
  for (const [id, stream] of [["out", "stdout"], ["err", "stderr"]] as const) {
    const events = await c.untilClosed(id, 60_000);
    const out = text(c.outputOf(id, stream));
    assert.equal(out.length, 14888896);
    assert.ok(out.endsWith("\n1999999\n2000000\n"));
    const lastOutput = events.filter((e) => e.method === "process/output").at(-1)!;
    const exited = events.find((e) => e.method === "process/exited")!;
    assert.ok(
      exited.params.seq > lastOutput.params.seq,
      "exit is reported after the last output byte",
    );
    const seqs = events.map((e) => e.params.seq);
    assert.deepEqual(
      seqs,
      seqs.map((_, i) => i + 1),
      "notifications arrive in seq order without holes",
    );
  }
});
