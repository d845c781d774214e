// Copyright 2026 the exec-server authors. MIT license.
// The client library against a real server core in this process, through the
// in-memory transport: one-shot commands, streaming order, stdin, terminals,
// files, auto-resume across abrupt drops, a restarted server and a half-open
// link. What needs a real socket (tokens, TLS, a TCP cut) is in
// client_e2e_test.ts.
import assert from "node:assert/strict";
import {
  ConnectionClosedError,
  ExecServerClient,
  ExecServerError,
  type TransferProgress,
  type TransportConnector,
} from "../lib/client/mod.ts";
import { memoryServer } from "./_memory.ts";
import { isGone, waitUntil } from "./_harness.ts";
import { assertStrictOrder, collector, lineCount, numberedLines, streamText } from "./_events.ts";

const text = (b: Uint8Array) => new TextDecoder().decode(b);
const ENV = { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin" };

Deno.test("ExecServerClient against an in-process server", async (t) => {
  await using server = await memoryServer();

  for (const binaryOutput of [true, false]) {
    await t.step(`one-shot command output (binaryOutput ${binaryOutput})`, async () => {
      await using client = await server.connect({ binaryOutput });
      assert.equal(client.binaryOutput, binaryOutput);
      const out = await client.exec(["sh", "-c", "printf 'hi\\n'; printf oops >&2; exit 4"], {
        cwd: "/tmp",
      });
      assert.equal(text(out.stdout), "hi\n");
      assert.equal(text(out.stderr), "oops");
      assert.equal(out.exitCode, 4);
      assert.equal(out.lost, false);
    });
  }

  await t.step("streaming output arrives in strict seq order", async () => {
    await using client = await server.connect();
    const job = numberedLines(300, "0.002");
    const proc = await client.start({ argv: job.argv, env: ENV });
    const { events, done } = collector(proc);
    await done;
    assertStrictOrder(events);
    assert.equal(streamText(events, "stdout"), job.out);
    assert.equal(streamText(events, "stderr"), job.err);
    assert.deepEqual(await proc.exited, { exitCode: 3 });
    assert.equal(proc.finished, true);
  });

  await t.step("stdin: write, closeStdin, and read() by seq", async () => {
    await using client = await server.connect();
    const proc = await client.start({ argv: ["cat"], pipeStdin: true });
    assert.equal(await proc.write("abc\n"), "accepted");
    const first = await proc.read({ waitMs: 5000 });
    assert.equal(atob(first.chunks[0]!.chunk), "abc\n");
    assert.equal(await proc.closeStdin(), "accepted");
    const out = await proc.output();
    assert.equal(text(out.stdout), "abc\n");
    assert.equal(out.exitCode, 0);
    assert.equal(await proc.write("late"), "stdinClosed");
  });

  await t.step("terminate and signal end a running process", async () => {
    await using client = await server.connect();
    const a = await client.start({ argv: ["sleep", "30"], env: ENV });
    assert.equal(await a.terminate(), true);
    assert.equal((await a.exited).signal, "SIGTERM");
    const b = await client.start({ argv: ["sleep", "30"], env: ENV });
    await b.signal("kill");
    assert.equal((await b.output()).signal, "SIGKILL");
    const listed = await client.listProcesses();
    assert.deepEqual(listed.map((p) => p.processId).sort(), [a.processId, b.processId].sort());
  });

  await t.step("start({timeoutMs}) is the process timeout: the server ends the tree", async () => {
    await using client = await server.connect();
    const started = Date.now();
    // A child that outlives its leader must die too.
    const proc = await client.start({
      argv: ["sh", "-c", "sleep 30 & echo $!; wait"],
      env: ENV,
      timeoutMs: 300,
      requestTimeoutMs: 5000,
    });
    const out = await proc.output();
    assert.equal(out.timedOut, true);
    assert.equal(out.signal, "SIGTERM");
    assert.ok(Date.now() - started < 5000, `took ${Date.now() - started} ms`);
    const child = Number(text(out.stdout).trim());
    assert.ok(child > 0);
    await waitUntil(() => isGone(child), { message: `background child ${child} to be gone` });
    const [info] = (await client.listProcesses()).filter((p) => p.processId === proc.processId);
    assert.equal(info?.timedOut, true);
  });

  await t.step("requestTimeoutMs bounds one response, never the process", async () => {
    await using client = await server.connect();
    const proc = await client.start({ argv: ["sleep", "0.5"], env: ENV, requestTimeoutMs: 200 });
    const out = await proc.output();
    assert.equal(out.timedOut, undefined);
    assert.equal(out.exitCode, 0);
  });

  await t.step("resize changes a terminal's size", async () => {
    await using client = await server.connect();
    const proc = await client.start({
      argv: ["sh", "-c", "read _; stty size"],
      tty: true,
      env: ENV,
      size: { rows: 24, cols: 80 },
    });
    await proc.resize({ rows: 33, cols: 101 });
    await proc.write("\n");
    const out = await proc.output();
    assert.match(text(out.pty), /33 101/);
  });

  await t.step("server errors are ExecServerError", async () => {
    await using client = await server.connect();
    const err = await client.fs.readFile("/definitely/not/here").then(() => null, (e) => e);
    assert.ok(err instanceof ExecServerError);
    assert.equal(err.code, -32004);
    await assert.rejects(
      client.start({ argv: [] }),
      (e) => e instanceof ExecServerError && e.code === -32602,
    );
  });

  await t.step("upload and download in chunks, with progress", async () => {
    await using client = await server.connect();
    const dir = await Deno.makeTempDir();
    try {
      const data = new Uint8Array(300_000).map((_, i) => (i * 2654435761) >>> 24);
      const up: TransferProgress[] = [];
      const written = await client.fs.upload(data, `${dir}/a.bin`, {
        chunkBytes: 64 * 1024,
        onProgress: (p) => up.push(p),
      });
      assert.equal(written, data.byteLength);
      assert.deepEqual(up.map((p) => p.bytes), [65536, 131072, 196608, 262144, 300000]);
      assert.ok(up.every((p) => p.totalBytes === 300_000));
      const down: TransferProgress[] = [];
      const back = await client.fs.download(`${dir}/a.bin`, {
        chunkBytes: 100_000,
        onProgress: (p) => down.push(p),
      });
      assert.deepEqual(back, data);
      assert.deepEqual(down.map((p) => p.bytes), [100_000, 200_000, 300_000]);
      // From a local path to a local path.
      await Deno.writeFile(`${dir}/local.bin`, data.subarray(0, 150_000));
      await client.fs.upload(`${dir}/local.bin`, `${dir}/b.bin`, { chunkBytes: 50_000 });
      assert.equal(await client.fs.downloadToFile(`${dir}/b.bin`, `${dir}/c.bin`), 150_000);
      assert.deepEqual(await Deno.readFile(`${dir}/c.bin`), data.subarray(0, 150_000));
      // An empty stream still creates the file.
      await client.fs.upload(new Blob([]).stream(), `${dir}/empty`);
      assert.equal((await client.fs.getMetadata(`${dir}/empty`)).size, 0);
      const names = (await client.fs.readDirectory(dir)).map((e) => e.fileName).sort();
      assert.deepEqual(names, ["a.bin", "b.bin", "c.bin", "empty", "local.bin"]);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
});

Deno.test("ExecServerClient auto-resume across abrupt drops (in process)", async (t) => {
  await using server = await memoryServer();

  await t.step(
    "a stream cut twice mid-flight is byte-exact, nothing lost or repeated",
    async () => {
      const states: string[] = [];
      await using client = await server.connect({ onStateChange: (s) => states.push(s) });
      const job = numberedLines(400, "0.005", 1);
      const proc = await client.start({ argv: job.argv, env: ENV });
      const { events, done } = collector(proc);
      for (const threshold of [80, 220]) {
        await waitUntil(() => lineCount(events) >= threshold, { message: `${threshold} lines` });
        server.cut();
        await waitUntil(() => client.state === "connected" && lineCount(events) > threshold + 20, {
          message: "resumed stream",
        });
      }
      await done;
      assertStrictOrder(events);
      assert.equal(streamText(events, "stdout"), job.out);
      assert.equal(streamText(events, "stderr"), job.err);
      assert.deepEqual(states, ["connected", "resuming", "connected", "resuming", "connected"]);
    },
  );

  await t.step(
    "an exit and close that happen while detached are rebuilt with their seqs",
    async () => {
      // Reconnects wait at this gate, so the process finishes while the session is detached.
      let gate: Promise<void> = Promise.resolve();
      let openGate = () => {};
      const transport: TransportConnector = async (handlers, signal) => {
        await gate;
        return await server.connector(handlers, signal);
      };
      await using client = await ExecServerClient.connect({ transport });
      const proc = await client.start({
        argv: ["sh", "-c", "echo ready; read _; echo bye; echo gone >&2; exit 5"],
        pipeStdin: true,
        env: ENV,
      });
      const { events, done } = collector(proc);
      await waitUntil(() => events.length === 1, { message: "ready" });
      const [info] = await client.listProcesses();
      gate = new Promise((resolve) => (openGate = resolve));
      assert.equal(await proc.write("\n"), "accepted");
      server.cut();
      await waitUntil(() => isGone(info!.pid!), { message: "process exit" });
      openGate();
      await done;
      assertStrictOrder(events);
      assert.equal(streamText(events, "stdout"), "ready\nbye\n");
      assert.equal(streamText(events, "stderr"), "gone\n");
      assert.deepEqual(await proc.exited, { exitCode: 5 });
    },
  );
});

Deno.test("ExecServerClient fails cleanly when the server restarted (in process)", async () => {
  // The client reaches whichever server is current, as a fixed address would.
  const first = await memoryServer();
  let current = first;
  const transport: TransportConnector = (handlers, signal) => current.connector(handlers, signal);
  await using client = await ExecServerClient.connect({ transport, resumeWindowMs: 20_000 });
  const proc = await client.start({ argv: ["sh", "-c", "read _"], pipeStdin: true, env: ENV });
  const longRead = proc.read({ afterSeq: 0, waitMs: 15_000 }).catch((e) => e);
  const { events, done } = collector(proc);
  // A crash: the links drop without a close, then every session is gone.
  first.cut();
  await first.close();
  await waitUntil(() => client.state === "resuming" || undefined, { message: "resuming" });
  const queued = client.listProcesses().then(() => null, (e) => e);
  await using second = await memoryServer();
  current = second;
  await waitUntil(() => client.state === "failed" || undefined, { message: "failed state" });
  const message = client.failure!;
  assert.match(message, /^exec-server transport disconnected(: .*)?; cannot resume session /);
  assert.match(message, /unknown session id/);
  const err = await queued;
  assert.ok(err instanceof ConnectionClosedError && !(err instanceof ExecServerError));
  assert.equal(err.message, message);
  assert.deepEqual(await longRead, {
    chunks: [],
    nextSeq: 1,
    exited: true,
    exitCode: null,
    closed: true,
    failure: message,
  });
  await done;
  assert.deepEqual(events, [{ type: "failed", message }]);
  assert.equal((await proc.read()).failure, message);
  await assert.rejects(proc.terminate(), { name: "ConnectionClosedError", message });
  await assert.rejects(client.exec(["true"]), { message });
});

Deno.test("ExecServerClient notices a half-open link with its keepalive and resumes (in process)", async () => {
  await using server = await memoryServer();
  const states: string[] = [];
  await using client = await server.connect({
    keepaliveMs: 300,
    onStateChange: (s) => states.push(s),
  });
  const proc = await client.start({ argv: ["sh", "-c", "sleep 1; echo after the freeze"] });
  const out = proc.output();
  server.freeze(); // nothing arrives either way, and nothing says the link is gone
  let timer: ReturnType<typeof setTimeout> | undefined;
  const result = await Promise.race([
    out,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error("no resume within 15 s")), 15_000);
    }),
  ]).finally(() => clearTimeout(timer));
  assert.equal(text(result.stdout), "after the freeze\n");
  assert.deepEqual(states, ["connected", "resuming", "connected"]);
  assert.equal(client.state, "connected");
});

Deno.test("a handle nobody reads keeps at most maxBufferedBytes of output, and says what it dropped", async () => {
  await using server = await memoryServer();
  await using client = await server.connect({ maxBufferedBytes: 1024 * 1024 });
  // 40 MB while the caller awaits only the exit: the old handle kept it all.
  const size = 40_000_000;
  const proc = await client.start({ argv: ["head", "-c", String(size), "/dev/zero"], env: ENV });
  assert.equal((await proc.exited).exitCode, 0);
  await waitUntil(() => proc.finished, { message: "the closed event" });
  let kept = 0;
  let dropped = 0;
  let gaps = 0;
  let lastSeq = 0;
  const types: string[] = [];
  for await (const ev of proc.events()) {
    types.push(ev.type);
    if (ev.type === "output") {
      kept += ev.data.byteLength;
      assert.ok(ev.seq > lastSeq, "strict seq order");
      lastSeq = ev.seq;
    }
    if (ev.type === "gap") {
      gaps++;
      dropped += ev.bytes ?? 0;
      assert.ok(ev.afterSeq >= lastSeq, "a gap follows what came before it");
      lastSeq = ev.throughSeq;
    }
  }
  assert.ok(kept <= 1024 * 1024, `kept ${kept} bytes`);
  assert.equal(kept + dropped, size, "every byte is either kept or reported");
  assert.ok(gaps >= 1);
  assert.deepEqual(types.slice(-2), ["exited", "closed"]);
});
