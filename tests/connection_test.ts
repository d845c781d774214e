// Copyright 2026 the exec-server authors. MIT license.
// The RPC core's own defences, without I/O: how many requests run at once,
// when the edge must stop reading, the initialize deadline, and a fault that
// closes one connection instead of the server.
import assert from "node:assert/strict";
import { CloseCode, Connection, type ConnectionOptions } from "../lib/server/connection.ts";
import { PROCESS_HANDLERS, type ServerContext } from "../lib/server/process_handlers.ts";
import { createLogger } from "../lib/util/logger.ts";
import { SessionRegistry } from "../lib/server/session.ts";
import { SandboxService } from "../lib/sandbox/mod.ts";
import {
  FAKE_ENVIRONMENT_INFO,
  FakeSpawner,
  ManualClock,
  RecordingPeer,
  settle,
} from "./_fakes.ts";

function setup(options: ConnectionOptions = {}) {
  const clock = new ManualClock();
  const registry = new SessionRegistry({ clock, timings: { killGraceMs: 20, retentionMs: 50 } });
  const spawner = new FakeSpawner();
  const logs: string[] = [];
  const server: ServerContext = {
    registry,
    spawn: spawner.spawn,
    sandbox: new SandboxService(),
    baseEnv: () => ({}),
    environmentInfo: () => FAKE_ENVIRONMENT_INFO,
    maxMessageBytes: 1 << 20,
    log: createLogger("debug", (l) => logs.push(l)),
  };
  const peer = new RecordingPeer();
  const conn = new Connection(peer, server, PROCESS_HANDLERS as never, options);
  return { clock, registry, spawner, peer, conn, logs };
}

async function initialize(conn: Connection) {
  await conn.receive(JSON.stringify({ id: 0, method: "initialize", params: { clientName: "t" } }));
  await conn.receive(JSON.stringify({ method: "initialized" }));
}

const START = { processId: "p", argv: ["x"], cwd: "/", env: {}, tty: false };

/** A long-poll read of process p that waits `waitMs` on the manual clock. */
function parkedRead(id: number, waitMs = 10_000): string {
  return JSON.stringify({ id, method: "process/read", params: { processId: "p", waitMs } });
}

function responseIds(peer: RecordingPeer): unknown[] {
  return peer.sent.map((m) => (m as { id?: unknown }).id).filter((id) => id !== undefined);
}

Deno.test("Connection runs at most maxInFlight requests; the rest wait in order and the edge is told to stop reading", async () => {
  const { clock, registry, spawner, peer, conn } = setup({ maxInFlight: 2 });
  await initialize(conn);
  await conn.receive(JSON.stringify({ id: 1, method: "process/start", params: START }));
  const replies = [10, 11, 12].map((id) => conn.receive(parkedRead(id, 1000 * (id - 9))));
  await settle();
  assert.equal(conn.ready(), undefined, "two run, one waits: still room to read");
  replies.push(conn.receive(parkedRead(13, 4000)));
  const full = conn.receive(parkedRead(14, 100));
  const ready = conn.ready();
  assert.ok(ready instanceof Promise, "as many waiting as may run: the edge must stop reading");
  let readyNow = false;
  ready.then(() => (readyNow = true));
  await clock.advanceAsync(1000); // read 10 answers; 12 starts; 13 and 14 still wait
  assert.deepEqual(responseIds(peer).slice(2), [10]);
  assert.equal(readyNow, false);
  await clock.advanceAsync(1000); // 11 answers; 13 starts; only 14 waits
  assert.equal(readyNow, true, "fewer wait than may run: reading resumes");
  await clock.advanceAsync(2000); // 12 answers (t=4000); 14 starts and answers 100 ms later
  await clock.advanceAsync(2000); // 13 answers (t=6000)
  await Promise.all([...replies, full]);
  assert.deepEqual(responseIds(peer).slice(2), [10, 11, 12, 14, 13]);
  spawner.children[0]!.finish();
  await registry.shutdown();
});

Deno.test("Connection answers ping, terminate, signal, list and resize at once while every slot is taken", async () => {
  const { registry, spawner, peer, conn } = setup({ maxInFlight: 1 });
  await initialize(conn);
  await conn.receive(JSON.stringify({ id: 1, method: "process/start", params: START }));
  void conn.receive(parkedRead(10));
  void conn.receive(parkedRead(11));
  await settle();
  for (
    const [id, method, params] of [
      [20, "ping", {}],
      [21, "process/list", {}],
      [22, "process/signal", { processId: "p", signal: "interrupt" }],
      [23, "process/terminate", { processId: "p" }],
    ] as const
  ) {
    const r = await conn.receive(JSON.stringify({ id, method, params }));
    assert.ok(r && "result" in r, `${method} answered`);
  }
  assert.deepEqual(spawner.children[0]!.signals, ["SIGINT", "SIGTERM"]);
  assert.deepEqual(responseIds(peer).slice(2), [20, 21, 22, 23]);
  spawner.children[0]!.finish(143, "SIGTERM");
  await settle();
  await registry.shutdown();
});

Deno.test("Connection drops requests still waiting for a slot when the transport closes", async () => {
  const { registry, spawner, peer, conn } = setup({ maxInFlight: 1 });
  await initialize(conn);
  await conn.receive(JSON.stringify({ id: 1, method: "process/start", params: START }));
  void conn.receive(parkedRead(10));
  const queued = conn.receive(
    JSON.stringify({ id: 11, method: "process/start", params: { ...START, processId: "q" } }),
  );
  await settle();
  conn.transportClosed();
  assert.equal(await queued, null);
  await settle();
  assert.equal(spawner.children.length, 1, "the queued start never ran");
  assert.deepEqual(responseIds(peer).slice(2), []);
  assert.equal(conn.ready(), undefined);
  spawner.children[0]!.finish();
  await registry.shutdown();
});

Deno.test("Connection counts waiting requests in UTF-8 bytes, as the edge gives them or measured (review ws.md item 5)", async () => {
  for (const edgeSays of [false, true]) {
    const { registry, spawner, conn } = setup({ maxInFlight: 3 });
    await initialize(conn);
    await conn.receive(JSON.stringify({ id: 1, method: "process/start", params: START }));
    for (const id of [10, 11, 12]) void conn.receive(parkedRead(id));
    await settle();
    // Two waiting requests of 600 KB each in UTF-8 (200 K UTF-16 units): a
    // message's worth (1 MiB) of bytes, so the edge must stop reading. Counted
    // in units (the old code) they were 400 K and reading went on.
    const big = (id: number) =>
      JSON.stringify({
        id,
        method: "process/read",
        params: { processId: "p", pad: "字".repeat(200_000) },
      });
    for (const id of [20, 21]) {
      const text = big(id);
      void conn.receive(text, edgeSays ? new TextEncoder().encode(text).byteLength : undefined);
    }
    assert.ok(conn.ready() instanceof Promise, `full (bytes from the edge: ${edgeSays})`);
    conn.transportClosed();
    spawner.children[0]!.finish();
    await registry.shutdown();
  }
});

Deno.test("Connection stops reading when waiting requests hold a message's worth of bytes", async () => {
  const { registry, spawner, conn } = setup({ maxInFlight: 1 });
  await initialize(conn);
  await conn.receive(JSON.stringify({ id: 1, method: "process/start", params: START }));
  void conn.receive(parkedRead(10));
  await settle();
  const big = JSON.stringify({
    id: 11,
    method: "process/read",
    params: { processId: "p", pad: "x".repeat((1 << 20) - 100) },
  });
  void conn.receive(big);
  assert.ok(conn.ready() instanceof Promise);
  conn.transportClosed();
  assert.equal(conn.ready(), undefined, "a closed connection never blocks its edge");
  spawner.children[0]!.finish();
  await registry.shutdown();
});

Deno.test("Connection closes with 1008 when no initialize succeeds in time (issue 15 row 9)", async () => {
  const { clock, registry, peer, conn, logs } = setup({ initializeTimeoutMs: 5000 });
  // A failed initialize (an unknown session) does not count.
  const r = await conn.receive(JSON.stringify({
    id: 0,
    method: "initialize",
    params: { clientName: "t", resumeSessionId: crypto.randomUUID() },
  }));
  assert.ok(r && "error" in r);
  clock.advance(4999);
  assert.equal(peer.closedWith, null);
  clock.advance(1);
  assert.deepEqual(peer.closedWith, {
    code: CloseCode.PolicyViolation,
    reason: "no initialize within 5 s",
  });
  assert.equal(conn.open, false);
  assert.match(logs.join("\n"), /closing: no initialize within 5 s/);
  assert.equal(clock.pending, 0);
  await registry.shutdown();
});

Deno.test("Connection: a successful initialize, or a close, cancels the initialize deadline", async () => {
  const one = setup({ initializeTimeoutMs: 5000 });
  await initialize(one.conn);
  assert.equal(one.clock.pending, 0);
  one.clock.advance(10_000);
  assert.equal(one.peer.closedWith, null);
  await one.registry.shutdown();
  const two = setup({ initializeTimeoutMs: 5000 });
  two.conn.transportClosed();
  assert.equal(two.clock.pending, 0);
});

Deno.test("Connection: a fault in the transport closes that connection with 1011 and a logged reason", async () => {
  const { registry, peer, conn, logs } = setup();
  await initialize(conn);
  peer.sendText = () => {
    throw new Error("socket exploded");
  };
  const r = await conn.receive(JSON.stringify({ id: 5, method: "ping" }));
  assert.equal(r, null);
  assert.deepEqual(peer.closedWith, {
    code: CloseCode.InternalError,
    reason: "internal error: socket exploded",
  });
  assert.equal(conn.open, false);
  assert.match(logs.join("\n"), /ERROR .*closing after an internal error: socket exploded/);
  // Later messages are ignored, not thrown.
  assert.equal(await conn.receive(JSON.stringify({ id: 6, method: "ping" })), null);
  await registry.shutdown();
});
