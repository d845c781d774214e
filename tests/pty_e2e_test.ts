// Copyright 2026 the exec-server authors. MIT license.
// Terminals and signals through the real server.
import assert from "node:assert/strict";
import { assertAllGone, openFds, ServerProcess, TestClient, text, waitUntil } from "./_harness.ts";

const enc = (s: string) => new TextEncoder().encode(s).toBase64();

Deno.test("tty:true over the wire", async (t) => {
  await using server = await ServerProcess.start();
  await using c = await TestClient.connect(server.url);
  // After a first start: containment is set up then, and its watchdog's
  // pipe stays open for as long as the server runs.
  await c.start("first", ["true"]);
  await c.untilClosed("first");
  const baselineFds = openFds(server.pid);

  await t.step("fds 0, 1 and 2 are a terminal and output arrives as stream pty", async () => {
    await c.start("isatty", ["sh", "-c", "test -t 0 && test -t 1 && test -t 2 && echo yes"], {
      tty: true,
    });
    const events = await c.untilClosed("isatty");
    assert.equal(text(c.outputOf("isatty")), "yes\r\n");
    assert.ok(
      events.filter((e) => e.method === "process/output").every((e) => e.params.stream === "pty"),
    );
  });

  await t.step("size at start and stty size after process/resize", async () => {
    await c.start("size", ["sh", "-c", "stty size; read x; stty size"], {
      tty: true,
      size: { rows: 30, cols: 100 },
    });
    await c.waitUntil(
      () => text(c.outputOf("size")).includes("30 100") || undefined,
      5000,
      "initial size",
    );
    assert.deepEqual(
      await c.request("process/resize", { processId: "size", rows: 50, cols: 132 }),
      {},
    );
    await c.request("process/write", { processId: "size", chunk: enc("\n") });
    await c.untilClosed("size");
    assert.match(text(c.outputOf("size")), /30 100\r\n[\s\S]*50 132\r\n$/);
  });

  await t.step("resize of a non-tty process is -32600", async () => {
    await c.start("pipe", ["sleep", "5"]);
    const r = await c.call("process/resize", { processId: "pipe", rows: 10, cols: 10 });
    assert.equal(r.error.code, -32600);
    assert.match(r.error.message, /not a terminal/);
    await c.request("process/terminate", { processId: "pipe" });
  });

  await t.step("\\x03 interrupts the foreground job as at a keyboard", async () => {
    await c.start("int", ["sleep", "100"], { tty: true });
    await c.request("process/write", { processId: "int", chunk: enc("\x03") });
    const events = await c.untilClosed("int");
    const exited = events.find((e) => e.method === "process/exited")!;
    assert.equal(exited.params.exitCode, 130);
    assert.equal(exited.params.signal, "SIGINT");
  });

  await t.step("closeStdin ends cat on a terminal", async () => {
    await c.start("cat", ["cat"], { tty: true });
    await c.request("process/write", { processId: "cat", chunk: enc("abc\n") });
    assert.deepEqual(await c.request("process/closeStdin", { processId: "cat" }), {
      status: "accepted",
    });
    const events = await c.untilClosed("cat");
    assert.equal(events.find((e) => e.method === "process/exited")!.params.exitCode, 0);
  });

  await t.step(
    "process/signal reaches the group; unknown names are -32602; unknown ids are a no-op",
    async () => {
      await c.start("sig", ["sleep", "100"]);
      assert.deepEqual(
        await c.request("process/signal", { processId: "sig", signal: "user1" }),
        {},
      );
      const events = await c.untilClosed("sig");
      assert.equal(events.find((e) => e.method === "process/exited")!.params.signal, "SIGUSR1");
      const bad = await c.call("process/signal", { processId: "sig", signal: "boom" });
      assert.equal(bad.error.code, -32602);
      assert.deepEqual(
        await c.request("process/signal", { processId: "ghost", signal: "kill" }),
        {},
      );
      assert.deepEqual(await c.request("process/signal", { processId: "sig", signal: "kill" }), {});
    },
  );

  await t.step("terminate kills the whole terminal session", async () => {
    await c.start("tree", ["sh", "-c", "trap '' HUP; sleep 100 & echo $!; wait"], { tty: true });
    const pid = await c.waitUntil(
      () => {
        const s = text(c.outputOf("tree")).trim();
        return s ? Number(s) : undefined;
      },
      5000,
      "pid",
    );
    assert.deepEqual(await c.request("process/terminate", { processId: "tree" }), {
      running: true,
    });
    await c.untilClosed("tree");
    await assertAllGone([pid]);
  });

  await t.step("50 concurrent terminals each print 1 MB with exact byte counts", async () => {
    const ids = Array.from({ length: 50 }, (_, i) => `many-${i}`);
    await Promise.all(
      ids.map((id) => c.start(id, ["head", "-c", "1000000", "/dev/zero"], { tty: true })),
    );
    for (const id of ids) {
      await c.untilClosed(id, 60_000);
      assert.equal(c.outputOf(id).byteLength, 1_000_000, id);
    }
  });

  await t.step("the server's open fd count returns to its baseline", async () => {
    await waitUntil(() => openFds(server.pid) === baselineFds, {
      timeoutMs: 10_000,
      message: `the server's fds (sockets aside) back at ${baselineFds}`,
    });
  });
});
