// Copyright 2026 the exec-server authors. MIT license.
// Session registry and RPC core, without I/O: fake children, a recording
// peer and a manual clock (no sleeping through a TTL).
import assert from "node:assert/strict";
import { Connection } from "../lib/server/connection.ts";
import { PROCESS_HANDLERS, type ServerContext } from "../lib/server/process_handlers.ts";
import { NULL_LOGGER } from "../lib/util/logger.ts";
import { type Attachment, SessionRegistry } from "../lib/server/session.ts";
import { RpcError } from "../lib/protocol/errors.ts";
import { SandboxService } from "../lib/sandbox/mod.ts";
import {
  FAKE_ENVIRONMENT_INFO,
  FakeSpawner,
  ManualClock,
  RecordingPeer,
  settle,
} from "./_fakes.ts";

const TIMINGS = { killGraceMs: 20, exitGraceMs: 10, retentionMs: 50 };

function attachment(): Attachment & { evicted: boolean } {
  return {
    id: crypto.randomUUID(),
    evicted: false,
    notify() {},
    output() {},
    congested: () => undefined,
    evict() {
      this.evicted = true;
    },
  };
}

function setup(ttlMs = 1000, limits: { maxProcesses?: number } = {}) {
  const clock = new ManualClock();
  const registry = new SessionRegistry({ ttlMs, clock, timings: TIMINGS, ...limits });
  const spawner = new FakeSpawner();
  const server: ServerContext = {
    registry,
    spawn: spawner.spawn,
    sandbox: new SandboxService(),
    baseEnv: () => ({}),
    maxMessageBytes: 1 << 20,
    log: NULL_LOGGER,
    environmentInfo: () => FAKE_ENVIRONMENT_INFO,
  };
  const connect = () => {
    const peer = new RecordingPeer();
    return { peer, conn: new Connection(peer, server, PROCESS_HANDLERS as never) };
  };
  return { clock, registry, spawner, server, connect };
}

async function initialize(conn: Connection, resume?: string) {
  const params: Record<string, unknown> = { clientName: "t" };
  if (resume) params.resumeSessionId = resume;
  const r = await conn.receive(JSON.stringify({ id: 0, method: "initialize", params }));
  await conn.receive(JSON.stringify({ method: "initialized" }));
  return r as { result?: { sessionId: string }; error?: { code: number; message: string } };
}

const START = { processId: "p", argv: ["x"], cwd: "/", env: {}, tty: false };

Deno.test("SessionRegistry expires a detached session after the TTL and terminates its processes", async () => {
  const { clock, registry, spawner, connect } = setup(1000);
  const { conn } = connect();
  const sessionId = (await initialize(conn)).result!.sessionId;
  await conn.receive(JSON.stringify({ id: 1, method: "process/start", params: START }));
  conn.transportClosed();
  clock.advance(999);
  assert.ok(registry.get(sessionId), "alive just before the TTL");
  clock.advance(1);
  assert.equal(registry.get(sessionId), undefined);
  assert.deepEqual(spawner.children[0]!.signals.slice(0, 1), ["SIGTERM"]);
  spawner.children[0]!.finish(143, "SIGTERM");
  await registry.shutdown();
});

Deno.test("SessionRegistry.resume() at the expiry boundary: teardown wins even before the timer fires", async () => {
  const { clock, registry, spawner, connect } = setup(1000);
  const { conn } = connect();
  const sessionId = (await initialize(conn)).result!.sessionId;
  await conn.receive(JSON.stringify({ id: 1, method: "process/start", params: START }));
  conn.transportClosed();
  clock.advanceWithoutFiring(1000); // the timer is late
  const { conn: conn2 } = connect();
  const r = await initialize(conn2, sessionId);
  assert.equal(r.error?.code, -32600);
  assert.equal(r.error?.message, `unknown session id ${sessionId}`);
  assert.equal(registry.get(sessionId), undefined);
  assert.equal(spawner.children[0]!.signals[0], "SIGTERM");
  spawner.children[0]!.finish(143, "SIGTERM");
  await registry.shutdown();
});

Deno.test("SessionRegistry.resume() just inside the TTL attaches and evicts the old attachment", () => {
  const { clock, registry } = setup(1000);
  const a = attachment();
  const session = registry.create(a);
  registry.detach(session, a);
  clock.advanceWithoutFiring(999);
  const b = attachment();
  assert.equal(registry.resume(session.id, b), session);
  assert.ok(session.isAttached(b));
  assert.ok(a.evicted);
  clock.advance(5000);
  assert.ok(registry.get(session.id), "a resumed session does not expire");
});

Deno.test("SessionRegistry.resume() rejects a session attached elsewhere with -32010", () => {
  const { registry } = setup();
  const session = registry.create(attachment());
  assert.throws(() => registry.resume(session.id, attachment()), (err: RpcError) => {
    assert.equal(err.code, -32010);
    assert.equal(err.message, `session ${session.id} is already attached to another connection`);
    return true;
  });
});

Deno.test("SessionRegistry limits the number of sessions", () => {
  const registry = new SessionRegistry({ maxSessions: 1, clock: new ManualClock() });
  registry.create(attachment());
  assert.throws(() => registry.create(attachment()), /too many sessions: the limit is 1/);
});

Deno.test("a long-poll read on the old connection fails once another connection resumes", async () => {
  const { registry, spawner, connect } = setup(1000);
  const { conn: c1 } = connect();
  const sessionId = (await initialize(c1)).result!.sessionId;
  await c1.receive(JSON.stringify({ id: 1, method: "process/start", params: START }));
  const pending = c1.receive(
    JSON.stringify({ id: 2, method: "process/read", params: { processId: "p", waitMs: 60_000 } }),
  );
  c1.transportClosed();
  const { conn: c2 } = connect();
  assert.equal((await initialize(c2, sessionId)).result?.sessionId, sessionId);
  const r = await pending as { error: { code: number; message: string } };
  assert.equal(r.error.code, -32600);
  assert.equal(r.error.message, "session has been resumed by another connection");
  const later = await c1.receive(JSON.stringify({ id: 3, method: "process/list" }));
  assert.equal(later, null, "a closed connection handles nothing more");
  spawner.children[0]!.finish();
  await registry.shutdown();
});

Deno.test("Connection handles a pipelined initialize, initialized and start in order", async () => {
  const { spawner, registry, connect } = setup();
  const { conn, peer } = connect();
  const all = [
    conn.receive(JSON.stringify({ id: 1, method: "initialize", params: { clientName: "t" } })),
    conn.receive(JSON.stringify({ method: "initialized" })),
    conn.receive(JSON.stringify({ id: 2, method: "process/start", params: START })),
  ];
  await Promise.all(all);
  assert.deepEqual((peer.sent[1] as { result: unknown }).result, {
    processId: "p",
    sandboxType: "none",
  });
  spawner.children[0]!.out("hi");
  spawner.children[0]!.finish(3);
  await settle();
  const methods = peer.sent.slice(2).map((m) => (m as { method: string }).method);
  assert.deepEqual(methods, ["process/output", "process/exited", "process/closed"]);
  await registry.shutdown();
});

Deno.test("Connection pauses producers while the peer is congested", async () => {
  const { clock, spawner, registry, connect } = setup();
  const { conn, peer } = connect();
  await initialize(conn);
  await conn.receive(JSON.stringify({ id: 1, method: "process/start", params: START }));
  peer.buffered = 64 * 1024 * 1024;
  const wait = spawner.children[0]!.out("x");
  assert.ok(wait instanceof Promise, "producer must wait");
  let resumed = false;
  wait.then(() => (resumed = true));
  clock.advance(1000);
  await settle();
  assert.equal(resumed, false, "still congested after many polls");
  peer.buffered = 6 * 1024 * 1024;
  clock.advance(1000);
  await settle();
  assert.equal(resumed, false, "below the high-water mark is not drained enough");
  peer.buffered = 4 * 1024 * 1024;
  clock.advance(2);
  await settle();
  assert.equal(resumed, true, "resumed at the next poll once at half the high-water mark");
  assert.equal(clock.pending, 0, "no poll left behind");
  spawner.children[0]!.finish();
  await registry.shutdown();
});

Deno.test("Connection sends binary output frames only when negotiated", async () => {
  const { spawner, registry, connect } = setup();
  const { conn, peer } = connect();
  const r = await conn.receive(JSON.stringify({
    id: 1,
    method: "initialize",
    params: { clientName: "t", capabilities: { binaryOutput: true } },
  })) as { result: { capabilities: { binaryOutput: boolean } } };
  assert.equal(r.result.capabilities.binaryOutput, true);
  await conn.receive(JSON.stringify({ method: "initialized" }));
  await conn.receive(JSON.stringify({ id: 2, method: "process/start", params: START }));
  spawner.children[0]!.out("bin");
  assert.equal(peer.binary.length, 1);
  assert.ok(!peer.sent.some((m) => (m as { method?: string }).method === "process/output"));
  spawner.children[0]!.finish();

  const { conn: plain, peer: plainPeer } = connect();
  const init = await initialize(plain) as { result: Record<string, unknown> };
  assert.equal("capabilities" in init.result, false, "codex clients get exactly the codex reply");
  await plain.receive(JSON.stringify({ id: 2, method: "process/start", params: START }));
  spawner.children[1]!.out("json");
  assert.equal(plainPeer.binary.length, 0);
  spawner.children[1]!.finish();
  await registry.shutdown();
});

Deno.test("spawn failure frees the id and reports -32603", async () => {
  const { spawner, registry, connect } = setup();
  const { conn } = connect();
  await initialize(conn);
  spawner.fail = new Error("No such file or directory (os error 2)");
  const r = await conn.receive(
    JSON.stringify({ id: 1, method: "process/start", params: START }),
  ) as {
    error: { code: number; message: string };
  };
  assert.equal(r.error.code, -32603);
  assert.match(r.error.message, /os error 2/);
  spawner.fail = null;
  const ok = await conn.receive(
    JSON.stringify({ id: 2, method: "process/start", params: START }),
  ) as {
    result: unknown;
  };
  assert.deepEqual(ok.result, { processId: "p", sandboxType: "none" });
  spawner.children[0]!.finish();
  await registry.shutdown();
});

Deno.test('while its spawn is in flight, process/read is -32600 "process id P is starting" (codex\'s words) and process/write answers starting', async () => {
  const { spawner, registry, server, connect } = setup();
  const { conn } = connect();
  await initialize(conn);
  const gate = Promise.withResolvers<void>();
  const spawn = server.spawn;
  server.spawn = async (options, sink) => {
    await gate.promise;
    return await spawn(options, sink);
  };
  const start = conn.receive(JSON.stringify({ id: 1, method: "process/start", params: START }));
  await settle();
  const read = await conn.receive(
    JSON.stringify({ id: 2, method: "process/read", params: { processId: "p" } }),
  ) as { error: { code: number; message: string } };
  assert.deepEqual(read.error, { code: -32600, message: "process id p is starting" });
  const write = await conn.receive(
    JSON.stringify({ id: 3, method: "process/write", params: { processId: "p", chunk: "" } }),
  ) as { result: unknown };
  assert.deepEqual(write.result, { status: "starting" });
  gate.resolve();
  assert.deepEqual((await start as { result: unknown }).result, {
    processId: "p",
    sandboxType: "none",
  });
  spawner.children[0]!.finish();
  await registry.shutdown();
});

Deno.test("a long-poll read pending at shutdown fails saying the session was closed", async () => {
  const { registry, spawner, connect } = setup(1000);
  const { conn } = connect();
  const sessionId = (await initialize(conn)).result!.sessionId;
  await conn.receive(JSON.stringify({ id: 1, method: "process/start", params: START }));
  const pending = conn.receive(
    JSON.stringify({ id: 2, method: "process/read", params: { processId: "p", waitMs: 60_000 } }),
  );
  const shutdown = registry.shutdown();
  spawner.children[0]!.finish(143, "SIGTERM");
  await shutdown;
  const r = await pending as { error: { code: number; message: string } };
  assert.equal(r.error.code, -32600);
  assert.equal(r.error.message, `session ${sessionId} was closed: the server is shutting down`);
});

Deno.test("Session.own() after teardown releases the resource at once", async () => {
  const { registry } = setup();
  const session = registry.create(attachment());
  await registry.remove(session);
  let closed = false;
  session.own({ close: () => void (closed = true) });
  assert.equal(closed, true);
});

Deno.test("session teardown SIGKILLs a process that ignores SIGTERM once the kill grace passes", async () => {
  const { clock, registry, spawner, connect } = setup();
  const { conn } = connect();
  await initialize(conn);
  await conn.receive(JSON.stringify({ id: 1, method: "process/start", params: START }));
  const child = spawner.children[0]!;
  let done = false;
  const shutdown = registry.shutdown().then(() => (done = true));
  await clock.advanceAsync(TIMINGS.killGraceMs - 1);
  assert.deepEqual(child.signals, ["SIGTERM"]);
  assert.equal(done, false, "teardown waits out the grace");
  await clock.advanceAsync(1);
  assert.deepEqual(child.signals.slice(0, 2), ["SIGTERM", "SIGKILL"]);
  child.finish(137, "SIGKILL");
  await shutdown;
  assert.equal(clock.pending, 0, "teardown leaves no timer behind");
});

Deno.test("session teardown lets go of a process that survives SIGKILL after a bounded wait", async () => {
  const { clock, registry, spawner, connect } = setup();
  const { conn } = connect();
  await initialize(conn);
  await conn.receive(JSON.stringify({ id: 1, method: "process/start", params: START }));
  let done = false;
  const shutdown = registry.shutdown().then(() => (done = true));
  await clock.advanceAsync(TIMINGS.killGraceMs);
  assert.equal(done, false);
  await clock.advanceAsync(1000);
  await shutdown;
  assert.equal(spawner.children[0]!.signals.at(-1), "SIGKILL");
});

Deno.test("a finished process counts against the limit until its retention ends", async () => {
  const { clock, registry, spawner, connect } = setup(1000, { maxProcesses: 1 });
  const { conn } = connect();
  await initialize(conn);
  const start = (id: number, processId: string) =>
    conn.receive(JSON.stringify({ id, method: "process/start", params: { ...START, processId } }));
  await start(1, "a");
  spawner.children[0]!.finish(0);
  clock.advance(TIMINGS.retentionMs - 1);
  const refused = await start(2, "b") as { error?: { message: string } };
  assert.match(refused.error?.message ?? "", /too many processes in this session: the limit is 1/);
  clock.advance(1);
  const started = await start(3, "b") as { result?: unknown };
  assert.deepEqual(started.result, { processId: "b", sandboxType: "none" });
  spawner.children[1]!.finish(0);
  await registry.shutdown();
});
