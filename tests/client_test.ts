// Copyright 2026 the exec-server authors. MIT license.
// The client against an in-memory transport: ordering, errors, failure and
// resume semantics, scripted message by message.
import assert from "node:assert/strict";
import { encodeOutputFrame } from "../lib/protocol/binary_frame.ts";
import {
  CallInterruptedError,
  type ClientTransport,
  ConnectionClosedError,
  ExecServerClient,
  ExecServerError,
  type ProcessEvent,
  type ProcessHandle,
  ProtocolError,
  RequestTimeoutError,
  type TransportConnector,
  type TransportHandlers,
} from "../lib/client/mod.ts";
import { ReorderBuffer } from "../lib/client/reorder_buffer.ts";
import { connectStdio } from "../lib/client/stdio.ts";
import { waitUntil } from "./_harness.ts";
import { pidsByArgv } from "./_wire.ts";

// deno-lint-ignore no-explicit-any
type Msg = Record<string, any>;
const b64 = (s: string) => btoa(s);
const text = (b: Uint8Array) => new TextDecoder().decode(b);

/** Waits for a predicate, yielding to the event loop, up to a deadline. */
async function until<T>(check: () => T, what: string, timeoutMs = 5000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = check();
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 1));
  }
}

/** One scripted connection: records what the client sends, injects what the server says. */
class FakeConn {
  readonly sent: Msg[] = [];
  readonly handlers: TransportHandlers;
  open = true;
  readonly transport: ClientTransport;

  constructor(handlers: TransportHandlers, binary: boolean) {
    this.handlers = handlers;
    this.transport = {
      binary,
      send: (t) => {
        if (!this.open) throw new ConnectionClosedError("closed");
        this.sent.push(JSON.parse(t));
      },
      close: () => {
        this.drop("client closed");
        return Promise.resolve();
      },
    };
  }

  /** Next request with `method` not yet answered by the test. */
  request(method: string, from = 0): Promise<Msg> {
    return until(() => this.sent.slice(from).find((m) => m.method === method), method);
  }

  respond(id: number, result: unknown): void {
    this.handlers.message(JSON.stringify({ id, result }));
  }

  error(id: number, code: number, message: string, data?: unknown): void {
    this.handlers.message(JSON.stringify({ id, error: { code, message, data } }));
  }

  notify(method: string, params: unknown): void {
    this.handlers.message(JSON.stringify({ method, params }));
  }

  drop(reason?: string): void {
    if (!this.open) return;
    this.open = false;
    this.handlers.close(reason);
  }
}

/** A fake server: every connection answers initialize with session s1 unless told otherwise. */
class FakeServer {
  readonly conns: FakeConn[] = [];
  /** Answer for initialize; return an error tuple to refuse. */
  init: (params: Msg, conn: FakeConn) => Msg | [number, string] = () => ({
    sessionId: "s1",
    capabilities: { binaryOutput: true },
  });
  binary = true;

  readonly connector: TransportConnector = (handlers) => {
    const conn = new FakeConn(handlers, this.binary);
    this.conns.push(conn);
    void conn.request("initialize").then((m) => {
      const answer = this.init(m.params, conn);
      if (Array.isArray(answer)) conn.error(m.id, answer[0], answer[1]);
      else conn.respond(m.id, answer);
    });
    return Promise.resolve(conn.transport);
  };

  get last(): FakeConn {
    return this.conns.at(-1)!;
  }
}

async function connect(server: FakeServer, options: Msg = {}): Promise<ExecServerClient> {
  return await ExecServerClient.connect({
    transport: server.connector,
    resumeWindowMs: 2000,
    requestTimeoutMs: 5000,
    ...options,
  });
}

/** Starts process `p1` on the fake and returns its handle. */
async function startP1(server: FakeServer, client: ExecServerClient): Promise<ProcessHandle> {
  const started = client.start({ processId: "p1", argv: ["x"] });
  const req = await server.last.request("process/start");
  server.last.respond(req.id, { processId: "p1" });
  return await started;
}

async function collect(proc: ProcessHandle): Promise<ProcessEvent[]> {
  const events: ProcessEvent[] = [];
  for await (const ev of proc.events()) events.push(ev);
  return events;
}

function describe(events: ProcessEvent[]): string[] {
  return events.map((e) => {
    if (e.type === "output") return `${e.seq}:${e.stream}:${text(e.data)}`;
    if (e.type === "exited") return `${e.seq}:exit ${e.exitCode}`;
    if (e.type === "closed") return `${e.seq}:closed`;
    if (e.type === "gap") return `gap ${e.afterSeq}-${e.throughSeq}`;
    return `failed: ${e.message}`;
  });
}

// -- ReorderBuffer --

Deno.test("ReorderBuffer releases items in seq order and drops duplicates", () => {
  const buf = new ReorderBuffer<string>({ maxGap: 4 });
  assert.equal(buf.push(3, "c"), "accepted");
  assert.equal(buf.push(2, "b"), "accepted");
  assert.deepEqual(buf.drain(), []);
  assert.equal(buf.push(1, "a"), "accepted");
  assert.deepEqual(buf.drain().map((d) => d.kind === "item" && d.item), ["a", "b", "c"]);
  assert.equal(buf.push(2, "b"), "duplicate");
  assert.equal(buf.push(8, "h"), "tooFar");
  assert.equal(buf.push(8, "h", true), "accepted");
  assert.deepEqual(buf.missing(8), [4, 5, 6, 7]);
  assert.equal(buf.next, 4);
});

Deno.test("ReorderBuffer turns lost ranges into gaps, split around items that did arrive", () => {
  const buf = new ReorderBuffer<string>();
  buf.push(1, "a");
  buf.push(5, "e");
  buf.markLost(1, 7, 100);
  buf.push(8, "h");
  assert.deepEqual(buf.drain(), [
    { kind: "item", seq: 1, item: "a" },
    { kind: "lost", afterSeq: 1, throughSeq: 4 },
    { kind: "item", seq: 5, item: "e" },
    { kind: "lost", afterSeq: 5, throughSeq: 7 },
    { kind: "item", seq: 8, item: "h" },
  ]);
  assert.equal(buf.push(6, "f"), "duplicate");
});

// -- Ordering and calls --

Deno.test("ExecServerClient delivers out-of-order notifications in strict seq order", async () => {
  const server = new FakeServer();
  await using client = await connect(server);
  assert.equal(client.binaryOutput, true);
  const init = server.last.sent[0]!;
  assert.deepEqual(init.params, {
    clientName: "exec-server-client",
    capabilities: { binaryOutput: true },
  });
  assert.equal(init.id, 1);
  assert.deepEqual(server.last.sent[1], { method: "initialized", params: {} });
  // Events for p1 arrive before process/start is answered, and out of order.
  const started = client.start({ processId: "p1", argv: ["x"] });
  const req = await server.last.request("process/start");
  const c = server.last;
  c.notify("process/closed", { processId: "p1", seq: 5 });
  c.notify("process/output", { processId: "p1", seq: 2, stream: "stderr", chunk: b64("two") });
  c.handlers.message(encodeOutputFrame("p1", 4, "stdout", new TextEncoder().encode("four")));
  c.notify("process/exited", { processId: "p1", seq: 3, exitCode: 7 });
  c.notify("process/output", { processId: "other", seq: 1, stream: "stdout", chunk: b64("x") });
  c.respond(req.id, { processId: "p1" });
  const proc = await started;
  assert.equal(proc.lastSeq, 0);
  c.notify("process/output", { processId: "p1", seq: 1, stream: "stdout", chunk: b64("one") });
  c.notify("process/output", { processId: "p1", seq: 2, stream: "stderr", chunk: b64("dup") });
  assert.deepEqual(describe(await collect(proc)), [
    "1:stdout:one",
    "2:stderr:two",
    "3:exit 7",
    "4:stdout:four",
    "5:closed",
  ]);
  assert.deepEqual(await proc.exited, { exitCode: 7 });
  assert.equal(req.params.cwd, "/");
  assert.equal(req.params.envPolicy.inherit, "all");
});

Deno.test("ExecServerClient matches responses by id and maps errors", async (t) => {
  const server = new FakeServer();
  await using client = await connect(server, { requestTimeoutMs: 100 });
  const c = server.last;

  await t.step("responses may come in any order", async () => {
    const a = client.call("process/list", {});
    const b = client.fs.getMetadata("/etc");
    const ra = await c.request("process/list");
    const rb = await c.request("fs/getMetadata");
    assert.equal(rb.id, ra.id + 1);
    const meta = {
      isDirectory: true,
      isFile: false,
      isSymlink: false,
      size: 0,
      createdAtMs: 0,
      modifiedAtMs: 0,
    };
    c.respond(rb.id, meta);
    c.respond(ra.id, { processes: [] });
    assert.deepEqual(await b, meta);
    assert.deepEqual(await a, { processes: [] });
  });

  await t.step("a server error is an ExecServerError with code and data", async () => {
    const p = client.fs.readFile("/nope");
    const req = await c.request("fs/readFile");
    c.error(req.id, -32004, "No such file", { path: "/nope" });
    const err = await p.then(() => null, (e) => e);
    assert.ok(err instanceof ExecServerError);
    assert.equal(err.code, -32004);
    assert.deepEqual(err.data, { path: "/nope" });
  });

  await t.step("a result of the wrong shape is a ProtocolError", async () => {
    const p = client.call("process/terminate", { processId: "x" });
    const req = await c.request("process/terminate");
    c.respond(req.id, { running: "yes" });
    await assert.rejects(p, (e) => e instanceof ProtocolError && /running/.test(e.message));
  });

  await t.step("no response in time is a RequestTimeoutError", async () => {
    const from = c.sent.length;
    const p = client.call("process/signal", { processId: "x", signal: "kill" });
    await assert.rejects(p, RequestTimeoutError);
    const req = await c.request("process/signal", from);
    c.respond(req.id, {}); // late: ignored
  });
});

// -- Failure without resume --

Deno.test("ExecServerClient without resume fails everything with one local error", async () => {
  const server = new FakeServer();
  await using client = await connect(server, { autoResume: false });
  const proc = await startP1(server, client);
  const c = server.last;
  c.notify("process/output", { processId: "p1", seq: 1, stream: "stdout", chunk: b64("hi") });
  const longRead = proc.read({ afterSeq: 1, waitMs: 10_000 });
  const pending = client.fs.readDirectory("/");
  await c.request("fs/readDirectory");
  c.drop("connection reset");
  const message = "exec-server transport disconnected: connection reset";
  assert.equal(client.state, "failed");
  assert.equal(client.failure, message);
  const err = await pending.then(() => null, (e) => e);
  assert.ok(err instanceof ConnectionClosedError && !(err instanceof ExecServerError));
  assert.equal(err.message, message);
  assert.deepEqual(await longRead, {
    chunks: [],
    nextSeq: 2,
    exited: true,
    exitCode: null,
    closed: true,
    failure: message,
  });
  assert.deepEqual(describe(await collect(proc)), ["1:stdout:hi", `failed: ${message}`]);
  await assert.rejects(proc.exited, ConnectionClosedError);
  assert.equal((await proc.read()).failure, message);
  await assert.rejects(
    proc.write("x"),
    (e) => e instanceof ConnectionClosedError && e.message === message,
  );
  await assert.rejects(client.start({ argv: ["x"] }), { message });
});

// -- Resume --

Deno.test("ExecServerClient resumes: retries -32010, replays reads and keyed writes, fails the rest, rebuilds events", async () => {
  const server = new FakeServer();
  const states: string[] = [];
  await using client = await connect(server, { onStateChange: (s: string) => states.push(s) });
  const proc = await startP1(server, client);
  const c1 = server.last;
  c1.notify("process/output", { processId: "p1", seq: 1, stream: "stdout", chunk: b64("a") });
  const read = proc.read({ afterSeq: 1, waitMs: 3000 });
  const write = proc.write("input");
  const term = proc.terminate();
  await c1.request("process/read");
  const firstWrite = await c1.request("process/write");
  assert.equal(typeof firstWrite.params.writeId, "string");
  await c1.request("process/terminate");
  let attempts = 0;
  server.init = (params) => {
    assert.equal(params.resumeSessionId, "s1");
    return ++attempts === 1
      ? [-32010, "session s1 is already attached to another connection"]
      : { sessionId: "s1", capabilities: { binaryOutput: true } };
  };
  c1.drop("reset by peer");
  const terr = await term.then(() => null, (e) => e);
  assert.ok(terr instanceof CallInterruptedError && terr instanceof ConnectionClosedError);
  assert.match(
    terr.message,
    /^exec-server transport disconnected: reset by peer; process\/terminate/,
  );
  await until(() => server.conns.length === 3 && client.state === "connected", "resume");
  const c3 = server.last;
  // The in-flight long read is sent again, unchanged.
  const replayed = await c3.request("process/read");
  assert.deepEqual(replayed.params, { processId: "p1", afterSeq: 1, waitMs: 3000 });
  // The write carries an idempotency key, so it is sent again with the same key.
  const replayedWrite = await c3.request("process/write");
  assert.deepEqual(replayedWrite.params, firstWrite.params);
  c3.respond(replayedWrite.id, { status: "accepted" });
  assert.equal(await write, "accepted");
  // The catch-up read: output 2 and 4 retained, exit (3) and close (5) only as state.
  const catchUp = await until(
    () => c3.sent.find((m) => m.method === "process/read" && m.params.waitMs === 0),
    "catch-up read",
  );
  assert.deepEqual(catchUp.params, { processId: "p1", afterSeq: 1, waitMs: 0 });
  const chunk = (seq: number, s: string) => ({ seq, stream: "stdout", chunk: b64(s) });
  const state = { exited: true, exitCode: 0, closed: true, failure: null };
  c3.respond(catchUp.id, { chunks: [chunk(2, "b"), chunk(4, "d")], nextSeq: 5, ...state });
  const next = await until(
    () => c3.sent.find((m) => m.method === "process/read" && m.params.afterSeq === 4),
    "second catch-up read",
  );
  c3.respond(next.id, { chunks: [], nextSeq: 6, ...state });
  c3.respond(replayed.id, { chunks: [chunk(2, "b")], nextSeq: 3, ...state });
  assert.equal((await read).chunks.length, 1);
  assert.deepEqual(describe(await collect(proc)), [
    "1:stdout:a",
    "2:stdout:b",
    "3:exit 0",
    "4:stdout:d",
    "5:closed",
  ]);
  assert.deepEqual(states, ["connected", "resuming", "connected"]);
});

Deno.test("ExecServerClient reports a gap from a read and fills a too-far hole by reading", async () => {
  const server = new FakeServer();
  await using client = await connect(server, { maxReorderGap: 4 });
  const proc = await startP1(server, client);
  const c = server.last;
  c.notify("process/output", { processId: "p1", seq: 1, stream: "stdout", chunk: b64("a") });
  // Seq 9 is too far ahead of 2: the client reads from 1 instead of holding it.
  c.notify("process/output", { processId: "p1", seq: 9, stream: "stdout", chunk: b64("i") });
  const read = await c.request("process/read");
  assert.deepEqual(read.params, { processId: "p1", afterSeq: 1, waitMs: 0 });
  c.respond(read.id, {
    chunks: [{ seq: 8, stream: "stdout", chunk: b64("h") }, {
      seq: 9,
      stream: "stdout",
      chunk: b64("i"),
    }],
    nextSeq: 10,
    exited: false,
    exitCode: null,
    closed: false,
    failure: null,
    gap: { afterSeq: 1, throughSeq: 7, bytes: 42 },
  });
  // Pushed before the client applied the read, so still too far: read again.
  c.notify("process/exited", { processId: "p1", seq: 10, exitCode: 1 });
  c.notify("process/closed", { processId: "p1", seq: 11 });
  const again = await until(
    () => c.sent.find((m) => m.method === "process/read" && m.params.afterSeq === 9),
    "second read",
  );
  c.respond(again.id, {
    chunks: [],
    nextSeq: 12,
    exited: true,
    exitCode: 1,
    closed: true,
    failure: null,
  });
  const events = await collect(proc);
  assert.deepEqual(describe(events), [
    "1:stdout:a",
    "gap 1-7",
    "8:stdout:h",
    "9:stdout:i",
    "10:exit 1",
    "11:closed",
  ]);
  assert.deepEqual(events[1], { type: "gap", afterSeq: 1, throughSeq: 7, bytes: 42 });
});

Deno.test("ExecServerClient fails after a refused resume: pending calls, handles, new calls", async () => {
  const server = new FakeServer();
  await using client = await connect(server);
  const proc = await startP1(server, client);
  server.init = () => [-32600, "unknown session id s1"];
  const pending = client.fs.readFile("/big").then(() => null, (e) => e);
  await server.last.request("fs/readFile");
  server.last.drop();
  await until(() => client.state === "failed", "failed state");
  const message =
    "exec-server transport disconnected; cannot resume session s1: unknown session id s1";
  assert.equal(client.failure, message);
  const err = await pending;
  assert.ok(err instanceof ConnectionClosedError && err.message === message);
  assert.deepEqual(describe(await collect(proc)), [`failed: ${message}`]);
  assert.equal((await proc.read({ waitMs: 1000 })).failure, message);
  await assert.rejects(client.listProcesses(), { message });
});

Deno.test("ExecServerClient.close() rejects pending calls and is idempotent", async () => {
  const server = new FakeServer();
  const client = await connect(server);
  const proc = await startP1(server, client);
  const pending = client.listProcesses();
  await server.last.request("process/list");
  await Promise.all([client.close(), client.close()]);
  assert.equal(client.state, "closed");
  await assert.rejects(pending, ConnectionClosedError);
  assert.equal((await collect(proc)).at(-1)?.type, "failed");
  assert.equal(server.conns.length, 1);
});

Deno.test("ExecServerClient.connect() fails with a timeout or the server's refusal", async (t) => {
  await t.step("a transport that never opens times out with ConnectionClosedError", async () => {
    const never: TransportConnector = (_, signal) =>
      new Promise((_, reject) => signal.addEventListener("abort", () => reject(signal.reason)));
    await assert.rejects(
      ExecServerClient.connect({ transport: never, connectTimeoutMs: 50 }),
      (e) => e instanceof ConnectionClosedError && /timed out after 50 ms$/.test(e.message),
    );
  });

  await t.step("an initialize error is the server's ExecServerError", async () => {
    const server = new FakeServer();
    server.init = () => [-32600, "session limit reached"];
    await assert.rejects(
      connect(server),
      (e) => e instanceof ExecServerError && e.message === "session limit reached",
    );
    assert.equal(server.last.open, false);
  });

  await t.step("binaryOutput false leaves capabilities out of initialize", async () => {
    const server = new FakeServer();
    server.init = (params) => {
      assert.deepEqual(params, { clientName: "mine" });
      return { sessionId: "s2" };
    };
    await using client = await connect(server, { binaryOutput: false, clientName: "mine" });
    assert.equal(client.sessionId, "s2");
    assert.equal(client.binaryOutput, false);
  });
});

Deno.test("connectStdio: a command writing a line past maxLineBytes is stopped and the connect fails saying so", async () => {
  const start = performance.now();
  await assert.rejects(
    connectStdio(
      ["sh", "-c", "head -c 3145728 /dev/zero | tr '\\0' x; exec sleep 31.4159"],
      { maxLineBytes: 1024 * 1024, stderr: "ignore" },
    ),
    (err: unknown) => {
      assert.ok(err instanceof ConnectionClosedError, String(err));
      assert.match(
        err.message,
        /sh wrote a line longer than the 1048576 bytes one message may take \(maxLineBytes\)/,
      );
      return true;
    },
  );
  assert.ok(performance.now() - start < 10_000, "at once, not after the command ends");
  // Nothing of it is left: sh was stopped before its sleep, and the pipe drained.
  await waitUntil(
    () =>
      pidsByArgv(["sleep", "31.4159"]).length === 0 &&
      pidsByArgv(["head", "-c", "3145728", "/dev/zero"]).length === 0,
    { message: "the command and its pipeline to be gone" },
  );
});
