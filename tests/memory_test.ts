// Copyright 2026 the exec-server authors. MIT license.
// The in-memory transport's own contract: order, binary frames, closes both
// ways with their codes, cut, freeze with backpressure, shutdown.
import assert from "node:assert/strict";
import { MemoryServer } from "../lib/memory/mod.ts";
import { PIPE_READ_SIZE } from "../lib/process/reactor.ts";
import {
  type ClientTransport,
  ConnectionClosedError,
  type ProcessEvent,
  type TransportHandlers,
} from "../lib/client/mod.ts";
import { NULL_LOGGER } from "../lib/util/mod.ts";
import { waitUntil } from "./_harness.ts";
import { bytesWritten } from "./_wire.ts";

// deno-lint-ignore no-explicit-any
type Msg = Record<string, any>;

/** A raw client end: every message parsed, the close reason kept. */
async function rawLink(server: MemoryServer): Promise<{
  transport: ClientTransport;
  messages: Msg[];
  frames: Uint8Array[];
  closed: { reason: string | undefined } | null;
}> {
  const link = {
    messages: [] as Msg[],
    frames: [] as Uint8Array[],
    closed: null as { reason: string | undefined } | null,
  };
  const handlers: TransportHandlers = {
    message: (m) => {
      if (typeof m === "string") link.messages.push(JSON.parse(m));
      else link.frames.push(m);
    },
    close: (reason) => {
      assert.equal(link.closed, null, "close is reported once");
      link.closed = { reason };
    },
  };
  const transport = await server.connector(handlers, new AbortController().signal);
  return Object.assign(link, { transport });
}

function processState(pid: number): string {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
}

Deno.test("MemoryServer: messages cross asynchronously and in order", async () => {
  await using server = await MemoryServer.start({ logger: NULL_LOGGER });
  const link = await rawLink(server);
  link.transport.send(JSON.stringify({ id: 1, method: "initialize", params: { clientName: "t" } }));
  link.transport.send(JSON.stringify({ method: "initialized", params: {} }));
  assert.equal(link.messages.length, 0, "nothing is delivered synchronously");
  await waitUntil(() => link.messages.length === 1, { message: "initialize reply" });
  // Requests that answer at once are answered in the order they were sent.
  for (let id = 2; id < 50; id++) {
    link.transport.send(JSON.stringify({ id, method: "process/list", params: {} }));
  }
  await waitUntil(() => link.messages.length === 49, { message: "48 replies" });
  assert.deepEqual(link.messages.map((m) => m.id), Array.from({ length: 49 }, (_, i) => i + 1));
  // Bad input gets an error; the link stays up.
  link.transport.send("{not json");
  await waitUntil(() => link.messages.length === 50, { message: "the parse error" });
  assert.equal(link.messages[49]!.error.code, -32600);
  assert.equal(server.connections, 1);
  await link.transport.close();
  assert.deepEqual(link.closed, { reason: "client closed" });
  assert.equal(server.connections, 0);
  assert.throws(() => link.transport.send("{}"), ConnectionClosedError);
});

for (const binary of [true, false]) {
  Deno.test(`MemoryServer: output as ${binary ? "binary frames" : "base64 JSON"}`, async () => {
    await using server = await MemoryServer.start({ logger: NULL_LOGGER, binary });
    await using client = await server.connect();
    assert.equal(client.binaryOutput, binary);
    const out = await client.exec(["sh", "-c", "head -c 100000 /dev/zero; echo err >&2"]);
    assert.deepEqual(out.stdout, new Uint8Array(100_000));
    assert.equal(new TextDecoder().decode(out.stderr), "err\n");
  });
}

Deno.test("MemoryServer: a close by the server reaches the client with its code and reason", async () => {
  await using server = await MemoryServer.start({ logger: NULL_LOGGER, maxMessageBytes: 1024 });
  const link = await rawLink(server);
  link.transport.send(JSON.stringify({ id: 1, method: "ping", params: { pad: "x".repeat(2000) } }));
  await waitUntil(() => link.closed, { message: "the close" });
  assert.deepEqual(link.closed, {
    reason: "message too big: 2044 bytes exceeds the limit of 1024 (close code 1009)",
  });
  assert.throws(() => link.transport.send("{}"), ConnectionClosedError);
  assert.equal(server.connections, 0);
  await link.transport.close(); // idempotent after the server's close
});

Deno.test("MemoryServer: a client close detaches the session; a new link resumes it", async () => {
  await using server = await MemoryServer.start({ logger: NULL_LOGGER });
  const first = await server.connect({ autoResume: false });
  const proc = await first.start({ processId: "cat", argv: ["cat"], pipeStdin: true });
  await first.close();
  const session = server.registry.get(first.sessionId);
  assert.ok(session && session.attachment === null, "detached, not ended");
  const link = await rawLink(server);
  link.transport.send(JSON.stringify({
    id: 1,
    method: "initialize",
    params: { clientName: "t", resumeSessionId: first.sessionId },
  }));
  link.transport.send(JSON.stringify({ method: "initialized", params: {} }));
  link.transport.send(JSON.stringify({ id: 2, method: "process/list", params: {} }));
  await waitUntil(() => link.messages.some((m) => m.id === 2), { message: "process/list" });
  assert.equal(link.messages[0]!.result.sessionId, first.sessionId);
  assert.deepEqual(link.messages[1]!.result.processes.map((p: Msg) => p.processId), ["cat"]);
  assert.equal(proc.processId, "cat");
  await link.transport.close();
});

Deno.test("MemoryServer: cut drops every link; the client resumes on a new one", async () => {
  await using server = await MemoryServer.start({ logger: NULL_LOGGER });
  const states: string[] = [];
  await using a = await server.connect({ onStateChange: (s) => void states.push(s) });
  await using b = await server.connect({ autoResume: false });
  assert.equal(server.connections, 2);
  server.cut();
  await waitUntil(() => b.state === "failed" && a.state === "connected", { message: "states" });
  assert.equal(b.failure, "exec-server transport disconnected: connection reset (close code 1006)");
  assert.deepEqual(states, ["connected", "resuming", "connected"]);
  assert.equal(server.connections, 1);
  assert.deepEqual(await a.listProcesses(), []);
});

Deno.test("MemoryServer: a frozen link holds output, the producer pauses, thaw delivers all in order", async () => {
  const highWaterBytes = 256 * 1024;
  await using server = await MemoryServer.start({ logger: NULL_LOGGER, highWaterBytes });
  await using client = await server.connect();
  const size = 16 * 1024 * 1024;
  // The producer starts writing only once the link is frozen (`go` appears):
  // a loaded machine could otherwise deliver all 16 MiB before freeze().
  const dir = await Deno.makeTempDir({ prefix: "memory-freeze-" });
  const go = `${dir}/go`;
  const proc = await client.start({
    argv: [
      "sh",
      "-c",
      `while [ ! -e "$1" ]; do sleep 0.01; done; exec head -c ${size} /dev/zero`,
      "sh",
      go,
    ],
  });
  const [info] = await client.listProcesses();
  const events: ProcessEvent[] = [];
  const done = (async () => {
    for await (const ev of proc.events()) events.push(ev);
  })();
  server.freeze();
  await Deno.writeTextFile(go, "");
  await waitUntil(() => (bytesWritten(info!.pid!) ?? 0) > 0, {
    intervalMs: 10,
    message: "the producer to start writing",
  });
  // The producer fills its pipe and blocks once the server stops reading it.
  let last = -1;
  await waitUntil(() => {
    const now = bytesWritten(info!.pid!);
    const still = now === last && processState(info!.pid!) === "S";
    last = now ?? -1;
    return still;
  }, { intervalMs: 100, message: "the producer to block" });
  assert.ok(last < size, `the producer wrote ${last} of ${size} bytes`);
  // Held: the high-water mark plus at most one pipe read and its frame header
  // (the pipe's buffer is raised to 1 MiB, so a read can fill its whole size
  // on a loaded machine).
  assert.ok(server.bufferedAmount > 0);
  assert.ok(
    server.bufferedAmount <= highWaterBytes + PIPE_READ_SIZE + 1024,
    `${server.bufferedAmount} bytes buffered`,
  );
  server.thaw();
  await done;
  const seqs = events.map((e) => ("seq" in e ? e.seq : -1));
  assert.deepEqual(seqs, seqs.map((_, i) => i + 1));
  const bytes = events.reduce((n, e) => n + (e.type === "output" ? e.data.byteLength : 0), 0);
  assert.equal(bytes, size);
  assert.deepEqual(await proc.exited, { exitCode: 0 });
  await Deno.remove(dir, { recursive: true });
});

Deno.test("MemoryServer: close says 1001 to every client, ends sessions, refuses new links", async () => {
  const server = await MemoryServer.start({ logger: NULL_LOGGER });
  const client = await server.connect({ autoResume: false });
  const proc = await client.start({ argv: ["sleep", "30"] });
  const [info] = await client.listProcesses();
  await Promise.all([server.close(), server.close()]);
  assert.equal(
    client.failure,
    "exec-server transport disconnected: server shutting down (close code 1001)",
  );
  assert.equal(server.registry.size, 0);
  await waitUntil(() => {
    try {
      return processState(info!.pid!) === "Z";
    } catch {
      return true;
    }
  }, { message: "sleep to be gone" });
  await assert.rejects(
    server.connect(),
    (e) => e instanceof ConnectionClosedError && /server shutting down$/.test(e.message),
  );
  assert.equal((await proc.read()).failure, client.failure);
  await client.close();
});
