// Copyright 2026 the exec-server authors. MIT license.
// Every limit over real sockets, each with its flag and its error or close
// reason: connections, sessions, processes, message size, keepalive, and a
// client that stops reading (memory stays bounded, producers pause).
import assert from "node:assert/strict";
import { ServerProcess, TestClient, waitUntil } from "./_harness.ts";
import { bytesWritten, Opcode, pidsByArgv, RawSocket, rssKib } from "./_wire.ts";

const PATH = Deno.env.get("PATH") ?? "/usr/bin:/bin";

/** Settles as `promise` does, or rejects once `ms` have passed. */
async function withDeadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Answers the server's pings until `count` have come; fails if the server closes first. */
async function answerPings(raw: RawSocket, count: number): Promise<void> {
  for (let pings = 0; pings < count;) {
    const frame = await raw.readFrame();
    if (frame === null || frame.opcode === Opcode.Close) {
      throw new Error(`the server closed after ${pings} pings`);
    }
    if (frame.opcode === Opcode.Ping) {
      pings++;
      await raw.sendFrame(Opcode.Pong, frame.payload);
    }
  }
}

/** A hand-driven client that initializes and returns its session id. */
async function rawInitialized(
  url: string,
  capabilities?: { binaryOutput: boolean },
): Promise<{ raw: RawSocket; sessionId: string }> {
  const raw = await RawSocket.connect(url);
  assert.equal(raw.handshake.status, 101);
  await raw.sendJson({
    id: 1,
    method: "initialize",
    params: { clientName: "raw", ...(capabilities ? { capabilities } : {}) },
  });
  const reply = await raw.readJsonUntil((m) => m.id === 1);
  await raw.sendJson({ method: "initialized", params: {} });
  return { raw, sessionId: (reply.result as { sessionId: string }).sessionId };
}

/** A command line unique to this run, so /proc can find exactly our process. */
function uniqueHead(): string[] {
  const n = 1_900_000_000 + Math.floor(Math.random() * 1_000_000);
  return ["head", "-c", String(n), "/dev/zero"];
}

Deno.test("--max-connections: 503 with the limit, and a freed slot is reusable", async () => {
  await using server = await ServerProcess.start(["--max-connections", "2"]);
  const a = await TestClient.connect(server.url);
  await using b = await TestClient.connect(server.url);
  {
    await using raw = await RawSocket.connect(server.url);
    assert.equal(raw.handshake.status, 503);
    assert.equal(raw.handshake.body, "too many connections: the limit is 2\n");
  }
  await assert.rejects(TestClient.connect(server.url));
  await a.close();
  await using c = await waitUntil(
    () => TestClient.connect(server.url).catch(() => null),
    { message: "a free connection slot" },
  );
  assert.deepEqual(await c.request("process/list"), { processes: [] });
  assert.deepEqual(await b.request("process/list"), { processes: [] });
  // /readyz is not a WebSocket and is not counted.
  const r = await fetch(`${server.httpUrl}/readyz`);
  assert.equal(r.status, 200);
  await r.body?.cancel();
});

Deno.test("--max-sessions: -32600 naming the limit; initialize can be retried", async () => {
  await using server = await ServerProcess.start([
    "--max-sessions",
    "2",
    "--session-ttl",
    "0.3",
  ]);
  const a = await TestClient.connect(server.url);
  await using b = await TestClient.connect(server.url);
  await using c = await TestClient.connect(server.url, { initialize: false });
  const over = await c.call("initialize", { clientName: "third" });
  assert.equal(over.error.code, -32600);
  assert.equal(over.error.message, "too many sessions: the limit is 2");
  await a.close(); // its session expires after the TTL and frees the slot
  const retried = await waitUntil(async () => {
    const r = await c.call("initialize", { clientName: "third" });
    return r.result ? r : null;
  }, { message: "a free session slot", intervalMs: 50 });
  assert.match(retried.result.sessionId, /^[0-9a-f-]{36}$/);
  c.notify("initialized", {});
  assert.deepEqual(await c.request("process/list"), { processes: [] });
  assert.deepEqual(await b.request("process/list"), { processes: [] });
});

Deno.test("--max-processes: -32600 naming the limit", async () => {
  await using server = await ServerProcess.start(["--max-processes", "2"]);
  await using c = await TestClient.connect(server.url);
  await c.start("a", ["sleep", "5"]);
  await c.start("b", ["sleep", "5"]);
  const over = await c.call("process/start", {
    processId: "c",
    argv: ["true"],
    cwd: "/tmp",
    env: {},
    tty: false,
  });
  assert.equal(over.error.code, -32600);
  assert.match(over.error.message, /^too many processes in this session: the limit is 2/);
  // Another session has its own allowance.
  await using other = await TestClient.connect(server.url);
  await other.start("c", ["true"]);
  await c.request("process/terminate", { processId: "a" });
  await c.request("process/terminate", { processId: "b" });
});

Deno.test("--max-message-bytes: at the limit is answered, one byte over closes with 1009", async (t) => {
  const limit = 4096;
  await using server = await ServerProcess.start(["--max-message-bytes", String(limit)]);

  /** A process/list request padded to exactly `size` bytes. */
  const padded = (size: number, id: number) => {
    const base = JSON.stringify({ id, method: "process/list", params: { pad: "" } });
    return JSON.stringify({
      id,
      method: "process/list",
      params: { pad: "x".repeat(size - base.length) },
    });
  };

  for (const kind of ["text", "binary"] as const) {
    await t.step(`${kind} frames`, async () => {
      await using c = await TestClient.connect(server.url);
      const exact = padded(limit, 7);
      assert.equal(exact.length, limit);
      const send = (s: string) => c.sendRaw(kind === "text" ? s : new TextEncoder().encode(s));
      send(exact);
      const reply = await c.waitUntil(() => c.stray.find((m) => m.id === 7), 5000, "reply 7");
      assert.deepEqual(reply.result, { processes: [] });
      send(padded(limit + 1, 8));
      const closed = await c.closed;
      assert.equal(closed.code, 1009);
      assert.equal(
        closed.reason,
        `message too big: ${limit + 1} bytes exceeds the limit of ${limit}`,
      );
      assert.equal(c.stray.find((m) => m.id === 8), undefined);
    });
  }

  await t.step("the server carries on", async () => {
    await using c = await TestClient.connect(server.url);
    assert.deepEqual(await c.request("process/list"), { processes: [] });
  });
});

Deno.test("a frame over Deno's own 64 MiB cap is cut off without harming the server", async () => {
  await using server = await ServerProcess.start([]);
  {
    await using raw = await RawSocket.connect(server.url);
    // Announce 65 MiB, send a little, then keep going until the server hangs up.
    await raw.sendFrame(Opcode.Text, new Uint8Array(65 * 1024 * 1024).fill(0x20)).catch(() => {});
    const end = await raw.readUntilClose();
    assert.notEqual(end.code, 1000);
  }
  await using c = await TestClient.connect(server.url);
  assert.deepEqual(await c.request("process/list"), { processes: [] });
});

Deno.test("keepalive: a peer that never answers pings is dropped within about 2 intervals", async (t) => {
  await using server = await ServerProcess.start(["--ping-interval", "1"]);

  await t.step("an idle peer that ignores pings: ping, then close 1001", async () => {
    const { raw } = await rawInitialized(server.url);
    await using _ = raw;
    const start = performance.now();
    const seen: number[] = [];
    let closeCode = 0;
    for (;;) {
      const frame = await raw.readFrame();
      if (frame === null) break;
      seen.push(frame.opcode);
      if (frame.opcode === Opcode.Close) {
        closeCode = (frame.payload[0]! << 8) | frame.payload[1]!;
        break;
      }
    }
    const elapsed = performance.now() - start;
    assert.ok(seen.includes(Opcode.Ping), `a ping was sent (saw ${seen})`);
    assert.equal(closeCode, 1001);
    assert.ok(elapsed < 2500, `dropped after ${elapsed.toFixed(0)} ms`);
  });

  await t.step("a peer that answers pings stays connected while idle", async () => {
    const { raw } = await rawInitialized(server.url);
    await using _ = raw;
    // Deno pings every half interval: six pings are three intervals, more
    // than the two within which a silent peer is dropped.
    await withDeadline(answerPings(raw, 6), 10_000, "six pings");
    await raw.sendJson({ id: 2, method: "process/list", params: {} });
    const reply = await withDeadline(raw.readJsonUntil((m) => m.id === 2), 5000, "the reply");
    assert.deepEqual(reply.result, { processes: [] });
  });

  await t.step(
    "a peer that stops reading mid-stream is dropped too, and its session can be resumed",
    async () => {
      const argv = uniqueHead();
      const { raw, sessionId } = await rawInitialized(server.url);
      await using _ = raw;
      await raw.sendJson({
        id: 2,
        method: "process/start",
        params: { processId: "flood", argv, cwd: "/tmp", env: {}, tty: false },
      });
      const start = performance.now();
      // Deno's own ping queues behind the blocked writes; the server's watchdog
      // notices that nothing moves and detaches the session.
      await using c = await waitUntil(async () => {
        const next = await TestClient.connect(server.url, { initialize: false });
        const r = await next.call("initialize", {
          clientName: "resume",
          resumeSessionId: sessionId,
        });
        if (r.result) return next;
        assert.equal(r.error.code, -32010, JSON.stringify(r.error)); // still attached
        await next.close();
        return null;
      }, { timeoutMs: 8000, intervalMs: 100, message: "the stalled session to be resumable" });
      const elapsed = performance.now() - start;
      assert.ok(elapsed < 4000, `resumable after ${elapsed.toFixed(0)} ms`);
      c.notify("initialized", {});
      const list = await c.request("process/list");
      assert.equal(list.processes[0].processId, "flood");
      const read = await c.request("process/read", { processId: "flood", maxBytes: 1024 });
      assert.ok(read.nextSeq > 0);
      await c.request("process/terminate", { processId: "flood" });
    },
  );
});

for (const binaryOutput of [false, true]) {
  Deno.test(
    `a client that stops reading cannot grow the server's memory (${
      binaryOutput ? "binary frames" : "base64 JSON"
    })`,
    async () => {
      await using server = await ServerProcess.start(["--session-ttl", "1"]);
      const argv = uniqueHead();
      const { raw } = await rawInitialized(server.url, { binaryOutput });
      await using _ = raw;
      const baseline = rssKib(server.pid);
      await raw.sendJson({
        id: 2,
        method: "process/start",
        params: { processId: "flood", argv, cwd: "/tmp", env: { PATH }, tty: false },
      });
      const pid = await waitUntil(() => pidsByArgv(argv)[0], { message: "the producer's pid" });
      // Never read again. The producer fills the socket, then the server stops
      // reading its pipe: the producer sleeps in write() and writes nothing more.
      let peak = 0;
      const written: number[] = [];
      await waitUntil(() => {
        peak = Math.max(peak, rssKib(server.pid));
        written.push(bytesWritten(pid) ?? NaN);
        const recent = written.slice(-4);
        const state = Deno.readTextFileSync(`/proc/${pid}/stat`).split(") ")[1]![0];
        return recent.length === 4 && recent.every((w) => w === recent[0]) && state === "S";
      }, { intervalMs: 100, timeoutMs: 20_000, message: "the producer to pause" });
      peak = Math.max(peak, rssKib(server.pid));
      const last = written.at(-1)!;
      assert.ok(peak < 300 * 1024, `server RSS peaked at ${peak} KiB (baseline ${baseline} KiB)`);
      assert.ok(last < 64 * 1024 * 1024, `the producer wrote ${last} bytes`);
    },
  );
}

Deno.test("a client that floods requests and never reads is dropped at the queue cap", async () => {
  // With 64 KiB messages the queue cap is 8 MiB + 4 x 64 KiB.
  await using server = await ServerProcess.start(["--max-message-bytes", "65536"]);
  const cap = 8 * 1024 * 1024 + 4 * 65536;
  const { raw, sessionId } = await rawInitialized(server.url);
  await using _ = raw;
  // A finished process with ~40 KB of retained output: each read of it is a
  // large reply. (fs/readFile waits for a congested peer instead.)
  await raw.sendJson({
    id: 2,
    method: "process/start",
    params: {
      processId: "big",
      argv: ["head", "-c", "40000", "/dev/urandom"],
      cwd: "/",
      env: {},
      tty: false,
    },
  });
  await raw.readJsonUntil((m) => m.method === "process/closed");
  const requests: Uint8Array[] = [];
  for (let i = 0; i < 1500; i++) {
    requests.push(
      new TextEncoder().encode(
        JSON.stringify({ id: 100 + i, method: "process/read", params: { processId: "big" } }),
      ),
    );
  }
  for (const r of requests) await raw.sendFrame(Opcode.Text, r);
  // The server drops the connection and detaches the session.
  await using c = await waitUntil(async () => {
    const next = await TestClient.connect(server.url, { initialize: false });
    const r = await next.call("initialize", { clientName: "resume", resumeSessionId: sessionId });
    if (r.result) return next;
    await next.close();
    return null;
  }, { timeoutMs: 10_000, intervalMs: 100, message: "the session to be released" });
  assert.ok(rssKib(server.pid) < 400 * 1024, `server RSS ${rssKib(server.pid)} KiB`);
  // Reading now drains what was queued: at most the cap, then the close reason
  // (unless the server's close races ahead and the kernel resets the stream).
  let answered = 0;
  let closed: { code: number; reason: string } | null = null;
  for (;;) {
    const frame = await raw.readFrame().catch(() => null);
    if (frame === null) break;
    if (frame.opcode === Opcode.Text) answered++;
    if (frame.opcode === Opcode.Close) {
      closed = {
        code: (frame.payload[0]! << 8) | frame.payload[1]!,
        reason: new TextDecoder().decode(frame.payload.subarray(2)),
      };
      break;
    }
  }
  // What was queued is bounded by the cap plus the kernel's socket buffers.
  assert.ok(answered * 53_000 < cap + 16 * 1024 * 1024, `${answered} replies of 53 KB`);
  if (closed) {
    assert.deepEqual(closed, {
      code: 1008,
      reason: `peer is not reading: over ${cap} bytes queued`,
    });
  }
  c.notify("initialized", {});
  const { processes } = await c.request("process/list");
  assert.deepEqual(processes.map((p: { processId: string }) => p.processId), ["big"]);
  const stderr = await server.stderr();
  assert.match(stderr, /dropping the connection: \d+ bytes queued for a peer that is not reading/);
});
