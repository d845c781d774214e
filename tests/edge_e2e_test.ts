// Copyright 2026 the exec-server authors. MIT license.
// Attacks on the WebSocket edge, each as an attacker would run it on
// loopback, bounded: idle and half-sent connections past the descriptor
// limit, requests that drip or never end, upgrades by other methods, a
// message in fragments that never ends, and upgrades that never initialize.
// After each, the server must be alive and serve a real client.
import assert from "node:assert/strict";
import { isGone, ServerProcess, TestClient, waitUntil } from "./_harness.ts";
import { PERMISSIONS } from "../scripts/compile.ts";
import { addr, closeAll, encodeFrame, Opcode, RawSocket, rssKib } from "./_wire.ts";

const MAIN = new URL("../main.ts", import.meta.url).pathname;
const MIB = 1024 * 1024;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * A server under `prlimit --nofile=N`, with the permissions it ships with
 * (no --allow-all: Deno then refuses /proc/self/limits, where the server
 * learns the limit).
 */
function serverWithFdLimit(nofile: number, args: string[], env: Record<string, string> = {}) {
  return ServerProcess.spawn("prlimit", [
    `--nofile=${nofile}:${nofile}`,
    "--",
    Deno.execPath(),
    "run",
    ...PERMISSIONS,
    MAIN,
    "serve",
    ...args,
  ], { env });
}

/** Writes all of `bytes`; false once the server has hung up. */
async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<boolean> {
  try {
    let off = 0;
    while (off < bytes.byteLength) off += await conn.write(bytes.subarray(off));
    return true;
  } catch {
    return false;
  }
}

/** Reads until the server closes the connection; resolves with what it sent (or null on reset). */
async function readToEnd(conn: Deno.Conn, timeoutMs = 10_000): Promise<string | null> {
  const buf = new Uint8Array(64 * 1024);
  let text = "";
  const timer = setTimeout(() => conn.close(), timeoutMs);
  try {
    for (;;) {
      const n = await conn.read(buf);
      if (n === null) return text;
      text += decoder.decode(buf.subarray(0, n));
    }
  } catch {
    return text === "" ? null : text;
  } finally {
    clearTimeout(timer);
  }
}

/** A real client with the token can run a command. */
async function assertServes(server: ServerProcess, token?: string): Promise<void> {
  assert.ok(!isGone(server.pid), "the server is alive");
  await using c = await TestClient.connect(server.url, {
    ...(token ? { headers: { Authorization: `Bearer ${token}` } } : {}),
  });
  await c.start("alive", ["echo", "alive"]);
  await c.untilClosed("alive");
  assert.equal(decoder.decode(c.outputOf("alive", "stdout")), "alive\n");
}

Deno.test("idle connections far past the descriptor limit, with a token: the server stays up and serves (issue 15 row 1)", async () => {
  const token = crypto.getRandomValues(new Uint8Array(24)).toHex();
  await using server = await serverWithFdLimit(256, ["--handshake-timeout", "30"], {
    EXEC_SERVER_TOKEN: token,
  });
  const idle: Deno.Conn[] = [];
  try {
    // 1,000 connections that never send a byte: the old server died with
    // "Uncaught (in promise) Http: Error: Too many open files" at about 250.
    for (let i = 0; i < 1000; i++) idle.push(await Deno.connect(addr(server.url)));
    await assertServes(server, token);
    // Descriptors run out for real: processes with three pipes each.
    await using c = await TestClient.connect(server.url, {
      headers: { Authorization: `Bearer ${token}` },
    });
    let failed = 0;
    for (let i = 0; i < 60; i++) {
      const r = await c.call("process/start", {
        processId: `fd${i}`,
        argv: ["sleep", "30"],
        cwd: "/tmp",
        env: {},
        tty: false,
        pipeStdin: true,
      });
      if (r.error) failed++;
    }
    for (let i = 0; i < 1000; i++) idle.push(await Deno.connect(addr(server.url)));
    assert.ok(!isGone(server.pid), `the server is alive (${failed} starts refused)`);
    const { processes } = await c.request("process/list");
    for (const p of processes) await c.request("process/terminate", { processId: p.processId });
  } finally {
    closeAll(idle);
  }
  await waitUntil(async () => {
    try {
      await assertServes(server, token);
      return true;
    } catch {
      return false;
    }
  }, { timeoutMs: 15_000, intervalMs: 200, message: "the server to serve again" });
  const stderr = await server.stderr();
  assert.match(stderr, /the open file limit \(256\) allows 128 sockets/);
  assert.doesNotMatch(stderr, /Uncaught/);
});

Deno.test("requests that drip, stop half-way or never end are cut off at the deadline; a huge head gets 431", async (t) => {
  await using server = await ServerProcess.start(["--handshake-timeout", "1"]);

  await t.step("a connection that sends nothing is closed after the deadline", async () => {
    const conn = await Deno.connect(addr(server.url));
    const start = performance.now();
    assert.equal(await readToEnd(conn), "");
    const ms = performance.now() - start;
    assert.ok(ms > 800 && ms < 4000, `closed after ${ms.toFixed(0)} ms`);
    closeAll([conn]);
  });

  await t.step(
    "a request that drips a byte every 100 ms is closed after the deadline",
    async () => {
      const conn = await Deno.connect(addr(server.url));
      const request = encoder.encode("GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n");
      const start = performance.now();
      let sent = 0;
      while (sent < request.byteLength && await writeAll(conn, request.subarray(sent, sent + 1))) {
        sent++;
        await new Promise((r) => setTimeout(r, 100));
      }
      const ms = performance.now() - start;
      assert.ok(sent < request.byteLength, "the server hung up before the request was complete");
      assert.ok(ms < 4000, `cut off after ${ms.toFixed(0)} ms`);
      closeAll([conn]);
    },
  );

  await t.step("a head without its final blank line is closed after the deadline", async () => {
    const conn = await Deno.connect(addr(server.url));
    await writeAll(conn, encoder.encode("GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"));
    assert.equal(await readToEnd(conn), "");
    closeAll([conn]);
  });

  await t.step("a head over 16 KiB gets 431", async () => {
    const conn = await Deno.connect(addr(server.url));
    const big = `GET / HTTP/1.1\r\nHost: x\r\nX-Pad: ${"a".repeat(20_000)}\r\n\r\n`;
    await writeAll(conn, encoder.encode(big));
    const answer = await readToEnd(conn);
    assert.match(answer ?? "", /^HTTP\/1\.1 431 /);
    closeAll([conn]);
  });

  await t.step("garbage instead of a request gets 400", async () => {
    const conn = await Deno.connect(addr(server.url));
    await writeAll(conn, encoder.encode("\x16\x03\x01 not http\r\n\r\n"));
    assert.match((await readToEnd(conn)) ?? "", /^HTTP\/1\.1 400 /);
    closeAll([conn]);
  });

  await t.step("the server still serves", () => assertServes(server));
});

Deno.test("upgrades by POST, PUT, DELETE and PATCH get 405 with Allow: GET (issue 15 row 15)", async () => {
  await using server = await ServerProcess.start([]);
  for (const method of ["POST", "PUT", "DELETE", "PATCH"]) {
    const conn = await Deno.connect(addr(server.url));
    const key = crypto.getRandomValues(new Uint8Array(16)).toBase64();
    await writeAll(
      conn,
      encoder.encode(
        `${method} / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      ),
    );
    const answer = (await readToEnd(conn)) ?? "";
    assert.match(answer, /^HTTP\/1\.1 405 Method Not Allowed\r\n/, method);
    assert.match(answer, /\r\nallow: GET\r\n/i, method);
    closeAll([conn]);
  }
  assert.equal(
    await RawSocket.connect(server.url).then(async (r) => {
      await r[Symbol.asyncDispose]();
      return r.handshake.status;
    }),
    101,
    "GET still upgrades",
  );
});

Deno.test("one message in 1 MiB continuation frames is cut off at the limit without buffering it (issue 15 row 2)", async () => {
  await using server = await ServerProcess.start(["--session-ttl", "30"]);
  // A session with processes that must not be orphaned by the attack.
  await using victim = await TestClient.connect(server.url);
  await victim.start("keep", ["sleep", "30"]);
  const baseline = rssKib(server.pid);
  const raw = await RawSocket.connect(server.url);
  assert.equal(raw.handshake.status, 101);
  const part = new Uint8Array(MIB).fill(0x20);
  const first = encodeFrame(Opcode.Text, part, { fin: false });
  const more = encodeFrame(Opcode.Continuation, part, { fin: false });
  // 600 MiB, or until the server hangs up (the old one buffered it all and
  // died at about 520 MiB: "failed to allocate string"). This one refuses the
  // message at the header of the fragment that passes 16 MiB and drops the
  // rest unread.
  let sent = 0;
  const closing = raw.readUntilClose();
  try {
    await raw.sendBytes(first);
    for (sent = 1; sent < 600; sent++) await raw.sendBytes(more);
  } catch {
    // the server hung up
  }
  const end = await closing;
  raw.close();
  const status = await Deno.readTextFile(`/proc/${server.pid}/status`);
  const peakKib = Number(/VmHWM:\s+(\d+)/.exec(status)![1]);
  assert.equal(end.code, 1009, `close after ${sent} MiB sent`);
  assert.equal(end.reason, `message too big: ${17 * MIB} bytes exceeds the limit of ${16 * MIB}`);
  const grown = (peakKib - baseline) / 1024;
  assert.ok(grown < 150, `peak RSS grew ${grown.toFixed(0)} MiB`);
  const { processes } = await victim.request("process/list");
  assert.equal(processes[0].state, "running", "the other session's process is untouched");
  await victim.request("process/terminate", { processId: "keep" });
  await assertServes(server);
});

Deno.test("upgrades that never initialize cannot keep a real client out (issue 15 row 9)", async () => {
  await using server = await ServerProcess.start([
    "--max-connections",
    "50",
    "--handshake-timeout",
    "2",
  ]);
  // 500 upgrades that never initialize: the old server kept every slot and
  // answered a real client 503 for as long as they stayed.
  const raws: RawSocket[] = [];
  let refused = 0;
  for (let i = 0; i < 500; i++) {
    const raw = await RawSocket.connect(server.url);
    if (raw.handshake.status === 101) raws.push(raw);
    else {
      refused++;
      raw.close();
    }
  }
  try {
    // A real client retries a 503 (as lib/client does); it must get in soon.
    const start = performance.now();
    await waitUntil(async () => {
      try {
        await assertServes(server);
        return true;
      } catch {
        return false;
      }
    }, { timeoutMs: 8000, intervalMs: 100, message: "a real client to get in" });
    const ms = performance.now() - start;
    assert.ok(ms < 5000, `a real client got in after ${ms.toFixed(0)} ms`);
    // Those that stay silent are closed at the initialize deadline, saying why.
    const ends = await Promise.all(raws.slice(-5).map((r) => r.readUntilClose()));
    for (const end of ends) {
      if (end.code === null) continue; // evicted earlier and reset
      assert.equal(end.code, 1008);
      assert.match(
        end.reason,
        /^(no initialize within 2 s|too many connections: this one never initialized)$/,
      );
    }
  } finally {
    for (const r of raws) r.close();
  }
  assert.ok(refused > 0, "upgrades past the limit were refused");
});
