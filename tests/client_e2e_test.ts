// Copyright 2026 the exec-server authors. MIT license.
// The client library against the real server subprocess: one-shot commands,
// streaming order, stdin, files, auth and TLS, and auto-resume across abrupt
// connection drops (through a TCP relay that cuts without a close frame).
import assert from "node:assert/strict";
import { makeTestPki } from "./_pki.ts";
import {
  ConnectionClosedError,
  ExecServerClient,
  ExecServerError,
  type ProcessEvent,
  type ProcessHandle,
  type TransferProgress,
  type TransportConnector,
  webSocketConnector,
} from "../lib/client/mod.ts";
import { CuttableProxy, isGone, ServerProcess, waitUntil } from "./_harness.ts";

const text = (b: Uint8Array) => new TextDecoder().decode(b);
const ENV = { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin" };

/** Consumes a handle's events in the background. */
function collector(proc: ProcessHandle): { events: ProcessEvent[]; done: Promise<void> } {
  const events: ProcessEvent[] = [];
  const done = (async () => {
    for await (const ev of proc.events()) events.push(ev);
  })();
  return { events, done };
}

/** Asserts seqs run 1, 2, 3, … with no gap or repeat, ending in exited (0) then closed. */
function assertStrictOrder(events: ProcessEvent[]): void {
  const seqs = events.map((e) => ("seq" in e ? e.seq : -1));
  assert.deepEqual(seqs, seqs.map((_, i) => i + 1), `seqs are ${seqs.join(",")}`);
  const tail = events.slice(-2).map((e) => e.type);
  assert.deepEqual(tail, ["exited", "closed"]);
  assert.equal(events.filter((e) => e.type === "exited").length, 1);
}

function streamText(events: ProcessEvent[], stream: string): string {
  return events
    .map((e) => (e.type === "output" && e.stream === stream ? text(e.data) : ""))
    .join("");
}

/** A shell loop printing `count` numbered lines, odd ones to stderr, pausing every `every` lines. */
function lines(
  count: number,
  pause: string,
  every = 10,
): { argv: string[]; out: string; err: string } {
  const script = `i=1; while [ $i -le ${count} ]; do
    if [ $((i % 2)) -eq 0 ]; then echo "out $i ................................"; else echo "err $i" >&2; fi
    if [ $((i % ${every})) -eq 0 ]; then sleep ${pause}; fi
    i=$((i + 1)); done; exit 3`;
  let out = "";
  let err = "";
  for (let i = 1; i <= count; i++) {
    if (i % 2 === 0) out += `out ${i} ................................\n`;
    else err += `err ${i}\n`;
  }
  return { argv: ["sh", "-c", script], out, err };
}

Deno.test("ExecServerClient against the real server", async (t) => {
  await using server = await ServerProcess.start();

  for (const binaryOutput of [true, false]) {
    await t.step(`one-shot command output (binaryOutput ${binaryOutput})`, async () => {
      await using client = await ExecServerClient.connect({ url: server.url, binaryOutput });
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
    await using client = await ExecServerClient.connect({ url: server.url });
    const job = lines(300, "0.002");
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
    await using client = await ExecServerClient.connect({ url: server.url });
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
    await using client = await ExecServerClient.connect({ url: server.url });
    const a = await client.start({ argv: ["sleep", "30"], env: ENV });
    assert.equal(await a.terminate(), true);
    assert.equal((await a.exited).signal, "SIGTERM");
    const b = await client.start({ argv: ["sleep", "30"], env: ENV });
    await b.signal("kill");
    assert.equal((await b.output()).signal, "SIGKILL");
    const listed = await client.listProcesses();
    assert.deepEqual(listed.map((p) => p.processId).sort(), [a.processId, b.processId].sort());
  });

  await t.step("resize changes a terminal's size", async () => {
    await using client = await ExecServerClient.connect({ url: server.url });
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
    await using client = await ExecServerClient.connect({ url: server.url });
    const err = await client.fs.readFile("/definitely/not/here").then(() => null, (e) => e);
    assert.ok(err instanceof ExecServerError);
    assert.equal(err.code, -32004);
    await assert.rejects(
      client.start({ argv: [] }),
      (e) => e instanceof ExecServerError && e.code === -32602,
    );
  });

  await t.step("upload and download in chunks, with progress", async () => {
    await using client = await ExecServerClient.connect({ url: server.url });
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

Deno.test("ExecServerClient auto-resume across abrupt drops", async (t) => {
  await using server = await ServerProcess.start();
  await using proxy = new CuttableProxy(server.url);

  await t.step(
    "a stream cut twice mid-flight is byte-exact, nothing lost or repeated",
    async () => {
      const states: string[] = [];
      await using client = await ExecServerClient.connect({
        url: proxy.url,
        onStateChange: (s) => states.push(s),
      });
      const job = lines(400, "0.005", 1);
      const proc = await client.start({ argv: job.argv, env: ENV });
      const { events, done } = collector(proc);
      // Count lines, not events: the server may coalesce writes into one chunk.
      const count = () =>
        (streamText(events, "stdout") + streamText(events, "stderr")).split("\n").length - 1;
      for (const threshold of [80, 220]) {
        await waitUntil(() => count() >= threshold, { message: `${threshold} lines` });
        await proxy.cut();
        await waitUntil(() => client.state === "connected" && count() > threshold + 20, {
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
      const ws = webSocketConnector(proxy.url);
      const transport: TransportConnector = async (handlers, signal) => {
        await gate;
        return await ws(handlers, signal);
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
      await proxy.cut();
      await waitUntil(() => isGone(info!.pid!), { message: "process exit" });
      openGate();
      await done;
      assertStrictOrder(events);
      assert.equal(streamText(events, "stdout"), "ready\nbye\n");
      assert.equal(streamText(events, "stderr"), "gone\n");
      assert.deepEqual(await proc.exited, { exitCode: 5 });
    },
  );

  await t.step("an in-flight long read is replayed after the resume", async () => {
    let resumes = 0;
    await using client = await ExecServerClient.connect({
      url: proxy.url,
      onStateChange: (s) => void (s === "resuming" && resumes++),
    });
    const proc = await client.start({ argv: ["cat"], pipeStdin: true });
    const read = proc.read({ afterSeq: 0, waitMs: 8000 });
    await proxy.cut();
    await waitUntil(() => resumes === 1 && client.state === "connected", { message: "resume" });
    assert.equal(await proc.write("late\n"), "accepted");
    const r = await read;
    assert.equal(r.failure, null);
    assert.equal(atob(r.chunks[0]!.chunk), "late\n");
    await proc.closeStdin();
    assert.equal((await proc.exited).exitCode, 0);
  });
});

Deno.test("ExecServerClient fails cleanly when the server restarted", async () => {
  const first = await ServerProcess.start();
  const url = first.url;
  await using client = await ExecServerClient.connect({ url, resumeWindowMs: 20_000 });
  // Ends by itself when the crashed server's end of its stdin closes.
  const proc = await client.start({ argv: ["sh", "-c", "read _"], pipeStdin: true, env: ENV });
  const longRead = proc.read({ afterSeq: 0, waitMs: 15_000 }).catch((e) => e);
  const { events, done } = collector(proc);
  await first.stop("SIGKILL");
  await first[Symbol.asyncDispose]();
  await waitUntil(() => client.state === "resuming" || undefined, { message: "resuming" });
  const queued = client.listProcesses().then(() => null, (e) => e);
  await using second = await ServerProcess.start(["--listen", url]);
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
  assert.equal(second.url, url);
});

Deno.test("ExecServerClient with a token and over TLS", async (t) => {
  const dir = await Deno.makeTempDir();
  try {
    const token = crypto.randomUUID();
    await Deno.writeTextFile(`${dir}/token`, `${token}\n`);
    await t.step("the token goes in the Authorization header; a wrong one is refused", async () => {
      await using server = await ServerProcess.start(["--token-file", `${dir}/token`]);
      await using client = await ExecServerClient.connect({ url: server.url, token });
      assert.equal(text((await client.exec(["echo", "ok"], { env: ENV })).stdout), "ok\n");
      await assert.rejects(
        ExecServerClient.connect({ url: server.url, token: "wrong" }),
        (e) =>
          e instanceof ConnectionClosedError &&
          /^Cannot connect to exec-server at /.test(e.message),
      );
    });
    await t.step("caCert makes a private CA trusted for wss://", async () => {
      const pki = await makeTestPki(dir);
      await using server = await ServerProcess.start(
        ["--tls-cert", pki.cert, "--tls-key", pki.key, "--token-file", `${dir}/token`],
      );
      assert.match(server.url, /^wss:/);
      const caCert = await Deno.readTextFile(pki.ca);
      await using client = await ExecServerClient.connect({ url: server.url, token, caCert });
      assert.equal(text((await client.exec(["echo", "tls"], { env: ENV })).stdout), "tls\n");
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("ExecServerClient notices a half-open link with its keepalive and resumes", async () => {
  await using server = await ServerProcess.start(["--ping-interval", "1"]);
  await using proxy = new CuttableProxy(server.url);
  const states: string[] = [];
  await using client = await ExecServerClient.connect({
    url: proxy.url,
    keepaliveMs: 300,
    onStateChange: (s) => states.push(s),
  });
  const proc = await client.start({ argv: ["sh", "-c", "sleep 1; echo after the freeze"] });
  const out = proc.output();
  proxy.freeze(); // no FIN, no RST: only a keepalive can tell
  let timer: ReturnType<typeof setTimeout> | undefined;
  const result = await Promise.race([
    out,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error("no resume within 15 s")), 15_000);
    }),
  ]).finally(() => clearTimeout(timer));
  assert.equal(new TextDecoder().decode(result.stdout), "after the freeze\n");
  assert.ok(states.includes("resuming"), `states: ${states.join(",")}`);
  assert.equal(client.state, "connected");
});
