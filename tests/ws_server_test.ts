// Copyright 2026 the exec-server authors. MIT license.
// The WebSocket edge in-process: start fails asynchronously, the upgrade
// checks are plain functions of a request, and the stall watchdog runs on a
// manual clock.
import assert from "node:assert/strict";
import { ExecServer } from "../lib/server/ws_server.ts";
import {
  decideUpgrade,
  evictUninitialized,
  refuseAuth,
  refuseHandshake,
  refuseMethod,
  refuseOrigin,
  refuseOverLimit,
  refuseRoute,
  reserveSlot,
  type SocketTable,
} from "../lib/server/upgrade.ts";
import { socketPeer, watchSendProgress } from "../lib/server/ws_peer.ts";
import { NULL_LOGGER } from "../lib/util/logger.ts";
import { ManualClock } from "./_fakes.ts";
import { waitUntil } from "./_harness.ts";
// The core loads on the first WebSocket (or at start, with fsRoots), and with
// it the one libc handle of the fs layer and the process backends, which
// stays open for good. Loading it here, outside any test, keeps the resource
// sanitizer from counting that one-time load against the test that starts
// the first such server.
import "../lib/ffi/mod.ts";

/** Calls `start` and proves it returned a promise instead of throwing. */
function startAsync(options: Parameters<typeof ExecServer.start>[0]): Promise<ExecServer> {
  let result: Promise<ExecServer> | undefined;
  assert.doesNotThrow(() => (result = ExecServer.start({ logger: NULL_LOGGER, ...options })));
  assert.ok(result instanceof Promise);
  return result;
}

Deno.test("ExecServer.start() rejects a bad listen URL instead of throwing", async () => {
  await assert.rejects(startAsync({ listen: "nonsense" }), {
    name: "TypeError",
    message: "unsupported --listen URL nonsense; expected `ws://IP:PORT` or `stdio`",
  });
  await assert.rejects(startAsync({ listen: "ws://127.0.0.1:99999" }), /invalid websocket/);
});

Deno.test("ExecServer.start() rejects a port in use, and the first server keeps serving", async () => {
  await using first = await ExecServer.start({ logger: NULL_LOGGER });
  await assert.rejects(startAsync({ listen: first.url }), Deno.errors.AddrInUse);
  const ready = await fetch(first.url.replace("ws:", "http:") + "/readyz");
  assert.equal(await ready.text(), "ok\n");
});

Deno.test("ExecServer.start() rejects an fs root that does not exist", async () => {
  await assert.rejects(startAsync({ fsRoots: ["/nonexistent/exec-server-root"] }));
});

const REMOTE = { transport: "tcp", hostname: "10.0.0.7", port: 5555 } as const;

function upgradeRequest(headers: Record<string, string>, path = "/"): Request {
  return new Request(`http://127.0.0.1:1${path}`, {
    headers: { upgrade: "websocket", ...headers },
  });
}

Deno.test("refuseRoute(): 426 without an upgrade, 404 off the root path", () => {
  const plain = new Request("http://127.0.0.1:1/");
  assert.equal(refuseRoute(plain, new URL(plain.url))?.status, 426);
  const off = upgradeRequest({}, "/x");
  assert.equal(refuseRoute(off, new URL(off.url))?.status, 404);
  const ok = upgradeRequest({});
  assert.equal(refuseRoute(ok, new URL(ok.url)), null);
});

Deno.test("refuseOrigin(): no Origin or a listed one passes, any other gets 403", () => {
  const allowed = new Set(["https://ok.example"]);
  assert.equal(refuseOrigin(upgradeRequest({}), allowed, NULL_LOGGER), null);
  assert.equal(
    refuseOrigin(upgradeRequest({ origin: "https://ok.example" }), allowed, NULL_LOGGER),
    null,
  );
  assert.equal(
    refuseOrigin(upgradeRequest({ origin: "https://evil.example" }), allowed, NULL_LOGGER)?.status,
    403,
  );
});

Deno.test("refuseAuth(): a header or a bearer subprotocol with the token passes, else 401", async () => {
  const token = "0123456789abcdef";
  const auth = { mode: "bearer", token } as const;
  const check = async (headers: Record<string, string>, offered: string[] = []) =>
    (await refuseAuth(upgradeRequest(headers), offered, auth, 0, REMOTE, NULL_LOGGER))?.status ??
      null;
  assert.equal(await check({ authorization: `Bearer ${token}` }), null);
  assert.equal(await check({}, ["exec-server", `bearer.${token}`]), null);
  assert.equal(await check({ authorization: "Bearer wrong" }), 401);
  assert.equal(await check({}), 401);
  assert.equal(
    await refuseAuth(upgradeRequest({}), [], null, 0, REMOTE, NULL_LOGGER),
    null,
    "no token, no check",
  );
});

/** An upgrade policy with a bearer token and room for one connection. */
function bearerPolicy() {
  return {
    auth: { mode: "bearer", token: "0123456789abcdef" } as const,
    allowOrigins: new Set<string>(),
    maxConnections: 1,
    pingSeconds: 30,
  };
}

/** The headers of a well-formed upgrade with {@linkcode bearerPolicy}'s token. */
const WS_HEADERS: Record<string, string> = {
  upgrade: "websocket",
  connection: "Upgrade",
  "sec-websocket-version": "13",
  "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
  authorization: "Bearer 0123456789abcdef",
};

function tracked(openedAt: number, initialized: boolean) {
  const closes: { code: number; reason: string }[] = [];
  return {
    openedAt,
    initialized,
    closes,
    close: (code: number, reason: string) => void closes.push({ code, reason }),
  };
}

Deno.test("refuseOverLimit(): 503 at the limit and while shutting down", () => {
  const table: SocketTable = { sockets: new Set(), closing: false };
  assert.equal(refuseOverLimit(table, 1, NULL_LOGGER), null);
  table.sockets.add(tracked(0, true));
  assert.equal(refuseOverLimit(table, 1, NULL_LOGGER)?.status, 503);
  table.sockets.clear();
  table.closing = true;
  assert.equal(refuseOverLimit(table, 1, NULL_LOGGER)?.status, 503);
});

Deno.test("refuseMethod(): an upgrade by any method but GET gets 405 with Allow: GET (issue 15 row 15)", () => {
  for (const method of ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"]) {
    const r = refuseMethod({ method, url: "http://x/", headers: new Headers() });
    assert.equal(r?.status, 405, method);
    assert.equal(r?.headers.get("allow"), "GET");
  }
  assert.equal(refuseMethod({ method: "GET", url: "http://x/", headers: new Headers() }), null);
});

Deno.test("refuseHandshake(): 400 without Connection: upgrade, version 13 and a 16-byte key", () => {
  const good = {
    connection: "keep-alive, Upgrade",
    "sec-websocket-version": "13",
    "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
  };
  const check = (headers: Record<string, string>) =>
    refuseHandshake(upgradeRequest(headers), REMOTE, NULL_LOGGER)?.status ?? null;
  assert.equal(check(good), null);
  assert.equal(check({ ...good, connection: "keep-alive" }), 400);
  assert.equal(check({ ...good, "sec-websocket-version": "8" }), 400);
  assert.equal(check({ ...good, "sec-websocket-key": "c2hvcnQ=" }), 400);
  assert.equal(check({ ...good, "sec-websocket-key": "not base64!" }), 400);
});

Deno.test("evictUninitialized(): at the limit the oldest socket that never initialized makes room (issue 15 row 9)", () => {
  const table: SocketTable = { sockets: new Set(), closing: false };
  const ready = tracked(0, true);
  const young = tracked(9_500, false);
  const old = tracked(5_000, false);
  table.sockets.add(ready).add(old).add(young);
  assert.equal(evictUninitialized(table, 4, 10_000, 1000, NULL_LOGGER), false, "under the limit");
  assert.equal(evictUninitialized(table, 3, 10_000, 1000, NULL_LOGGER), true);
  assert.deepEqual(old.closes, [{
    code: 1008,
    reason: "too many connections: this one never initialized",
  }]);
  assert.ok(!table.sockets.has(old));
  table.sockets.add(tracked(9_800, false));
  assert.equal(
    evictUninitialized(table, 3, 10_000, 1000, NULL_LOGGER),
    false,
    "a socket younger than minAgeMs is never evicted",
  );
  assert.deepEqual(ready.closes, []);
});

Deno.test("decideUpgrade(): /readyz, then route, method, origin, credentials and handshake in order; 503 while shutting down", async () => {
  const policy = bearerPolicy();
  const table: SocketTable = { sockets: new Set(), closing: false };
  const ws = WS_HEADERS;
  const decide = async (method: string, path: string, headers: Record<string, string>) => {
    const d = await decideUpgrade(
      { method, url: `http://x${path}`, headers: new Headers(headers) },
      REMOTE,
      policy,
      table,
      0,
      NULL_LOGGER,
    );
    return d.kind === "respond" ? d.response.status : `upgrade ${d.protocol}`;
  };
  assert.equal(await decide("GET", "/readyz", {}), 200);
  assert.equal(await decide("HEAD", "/readyz", {}), 200);
  assert.equal(await decide("POST", "/readyz", {}), 405);
  assert.equal(await decide("GET", "/", {}), 426);
  assert.equal(await decide("GET", "/x", ws), 404);
  assert.equal(await decide("POST", "/", ws), 405);
  assert.equal(await decide("GET", "/", { ...ws, origin: "https://evil.example" }), 403);
  assert.equal(await decide("GET", "/", { ...ws, authorization: "Bearer nope" }), 401);
  assert.equal(await decide("GET", "/", { ...ws, connection: "close" }), 400);
  assert.equal(await decide("GET", "/", ws), "upgrade null");
  assert.equal(
    await decide("GET", "/", { ...ws, "sec-websocket-protocol": "x, exec-server" }),
    "upgrade exec-server",
  );
  table.sockets.add(tracked(0, true));
  assert.equal(await decide("GET", "/", ws), "upgrade null", "the limit is reserveSlot's");
  table.closing = true;
  assert.equal(await decide("GET", "/", ws), 503);
});

Deno.test("an upgrade refused for its handshake or credentials evicts nobody (review ws.md item 6)", async () => {
  // At the limit, with a socket that never initialized and is old enough to
  // make room: the old code evicted it before checking the handshake, so a
  // stream of bad requests closed every connection still initializing.
  const policy = bearerPolicy();
  const table: SocketTable = { sockets: new Set(), closing: false };
  const waiting = tracked(0, false);
  table.sockets.add(waiting);
  const ws = WS_HEADERS;
  const decide = async (headers: Record<string, string>) => {
    const d = await decideUpgrade(
      { method: "GET", url: "http://x/", headers: new Headers(headers) },
      REMOTE,
      policy,
      table,
      10_000,
      NULL_LOGGER,
    );
    return d.kind === "respond" ? d.response.status : "upgrade";
  };
  assert.equal(await decide({ ...ws, "sec-websocket-key": "short" }), 400);
  assert.equal(await decide({ ...ws, "sec-websocket-version": "8" }), 400);
  assert.equal(await decide({ ...ws, authorization: "Bearer nope" }), 401);
  assert.deepEqual(waiting.closes, [], "nobody was evicted");
  assert.ok(table.sockets.has(waiting));
  assert.equal(await decide(ws), "upgrade");
  assert.deepEqual(waiting.closes, [], "passing the checks evicts nobody either");
});

Deno.test("reserveSlot(): at the limit the oldest never-initialized socket makes room, else 503", () => {
  const table: SocketTable = { sockets: new Set(), closing: false };
  const ready = tracked(0, true);
  table.sockets.add(ready);
  const full = reserveSlot(table, 1, 10_000, () => {}, NULL_LOGGER);
  assert.ok(full instanceof Response && full.status === 503, "only initialized sockets: 503");
  const waiting = tracked(5_000, false);
  table.sockets.add(waiting);
  const got = reserveSlot(table, 2, 10_000, () => {}, NULL_LOGGER);
  assert.ok(!(got instanceof Response), "the waiting one made room");
  assert.equal(waiting.closes.length, 1);
  assert.equal(table.sockets.size, 2, "the initialized socket and the new slot");
  got.release();
  assert.equal(table.sockets.size, 1);
  table.closing = true;
  const closing = reserveSlot(table, 9, 10_000, () => {}, NULL_LOGGER);
  assert.ok(closing instanceof Response && closing.status === 503, "shutting down: 503");
});

Deno.test("watchSendProgress(): a queue that does not move for stallMs trips it once", () => {
  const clock = new ManualClock();
  const socket = { bufferedAmount: 0 };
  const counter = { sent: 0 };
  let stalls = 0;
  watchSendProgress(socket, counter, 8000, () => stalls++, clock);
  clock.advance(60_000);
  assert.equal(stalls, 0, "an empty queue is never a stall");
  counter.sent = socket.bufferedAmount = 100; // queued, nothing written
  clock.advance(7000);
  counter.sent += 50; // 50 more queued, 50 of the first written: progress
  socket.bufferedAmount = 100;
  clock.advance(8000); // progress seen at the next check (1 s later), then 7 s still
  assert.equal(stalls, 0, "progress restarts the stall timer");
  clock.advance(1000);
  assert.equal(stalls, 1);
  clock.advance(60_000);
  assert.equal(stalls, 1, "it stops after tripping");
  assert.equal(clock.pending, 0);
});

Deno.test("watchSendProgress(): the returned function stops it", () => {
  const clock = new ManualClock();
  let stalls = 0;
  const stop = watchSendProgress({ bufferedAmount: 10 }, { sent: 10 }, 1000, () => stalls++, clock);
  clock.advance(500);
  stop();
  assert.equal(clock.pending, 0);
  clock.advance(5000);
  assert.equal(stalls, 0);
});

/** Runs a scenario of tests/_server_probe.ts in a process of its own and returns what it measured. */
async function probe<T>(scenario: "detached" | "close"): Promise<T> {
  const script = new URL("./_server_probe.ts", import.meta.url).pathname;
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--v8-flags=--expose-gc", script, scenario],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  assert.equal(code, 0, `probe ${scenario} failed: ${decoder.decode(stderr)}`);
  return JSON.parse(decoder.decode(stdout)) as T;
}

Deno.test("a detached session keeps none of its socket's memory (review ws.md item 2)", async () => {
  // The old server kept about 4.5 MiB of socket buffers per detached session
  // (its read buffer, reused payload array and write batch) for the 80 s TTL.
  const r = await probe<{ clients: number; detached: number; baseline: number; after: number }>(
    "detached",
  );
  assert.equal(r.detached, r.clients + 1);
  const grown = (r.after - r.baseline) / (1 << 20);
  // Old: 35.8 MiB for 8 sessions; now: 0.
  assert.ok(grown < 4, `external memory grew ${grown.toFixed(1)} MiB for ${r.clients} sessions`);
});

Deno.test("ExecServer.close() closes the core: its fs roots and inotify instance are let go (review ws.md item 4)", async () => {
  // Old: the sessions ended, but the root descriptor, the inotify instance
  // and its eventfd stayed open in the embedding process.
  const r = await probe<{ before: number; open: number; after: number }>("close");
  assert.ok(r.open > r.before, `the fs layer opened descriptors (${r.before} -> ${r.open})`);
  assert.equal(r.after, r.before, "every descriptor the server opened is closed");
});

Deno.test("ExecServer.close() is idempotent, also at once and with a client watching files", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const server = await ExecServer.start({ logger: NULL_LOGGER, fsRoots: [dir] });
    const ws = new WebSocket(server.url);
    const replies: Record<string, unknown>[] = [];
    ws.onmessage = (e) => void replies.push(JSON.parse(e.data));
    await new Promise((resolve) => ws.onopen = resolve);
    ws.send(JSON.stringify({ id: 1, method: "initialize", params: { clientName: "t" } }));
    await waitUntil(() => replies.some((r) => r.id === 1));
    ws.send(JSON.stringify({ method: "initialized", params: {} }));
    ws.send(JSON.stringify({ id: 2, method: "fs/watch", params: { path: dir } }));
    await waitUntil(() => replies.some((r) => r.id === 2 && r.result));
    const closed = new Promise((resolve) => ws.onclose = resolve);
    await Promise.all([server.close(), server.close()]);
    await server.close();
    await closed;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** A socket for socketPeer() whose queue is counted in bytes and drains when told. */
class ByteQueueSocket {
  open = true;
  bufferedAmount = 0;
  sent: Uint8Array[] = [];
  sendUtf8(payload: Uint8Array) {
    this.sent.push(payload);
    this.bufferedAmount += payload.byteLength;
  }
  sendBinary(data: Uint8Array) {
    this.sendUtf8(data);
  }
  close() {
    this.open = false;
  }
  /** The OS took `n` bytes. */
  write(n: number) {
    this.bufferedAmount = Math.max(0, this.bufferedAmount - n);
  }
}

Deno.test("socketPeer(): the send guard and the stall watchdog count bytes on the wire, not UTF-16 units (review ws.md item 5)", () => {
  const clock = new ManualClock();
  const socket = new ByteQueueSocket();
  const counter = { sent: 0 };
  const overflows: number[] = [];
  const peer = socketPeer(
    socket,
    { maxQueuedBytes: 10_000, overflow: (q) => overflows.push(q) },
    counter,
  );
  let stalls = 0;
  const stop = watchSendProgress(socket, counter, 8000, () => stalls++, clock);
  // A healthy peer reading CJK text: 300 bytes (100 UTF-16 units) queued and
  // 200 written every second; the queue grows, but bytes leave it. The old
  // count (sent in units, the queue in bytes) saw nothing written and
  // dropped it after 8 s.
  for (let s = 0; s < 30; s++) {
    peer.sendText("字".repeat(100));
    socket.write(200);
    clock.advance(1000);
  }
  assert.equal(stalls, 0, "progress is seen");
  assert.equal(counter.sent, 30 * 300);
  assert.equal(socket.bufferedAmount, 3000);
  peer.sendText("é".repeat(1000)); // 2,000 bytes: 5,000 queued
  assert.deepEqual(overflows, []);
  peer.sendText("字".repeat(1700)); // 5,100 bytes (1,700 units): past the 10,000
  assert.deepEqual(overflows, [5000], "refused by its bytes");
  assert.equal(socket.sent.length, 31);
  stop();
});
