// Copyright 2026 the exec-server authors. MIT license.
/**
 * Measurements of an in-process {@linkcode ExecServer} that need a process of
 * their own (its fds, its garbage collector on demand), run by
 * tests/ws_server_test.ts as
 * `deno run -A --v8-flags=--expose-gc tests/_server_probe.ts SCENARIO`;
 * prints one JSON object.
 *
 * - `detached`: clients that each send a 3 MiB message (read into the
 *   socket's reused payload array) and read a reply of about 800 KB
 *   (through the socket's write batch), then go away, half with a close
 *   handshake and half by dropping the TCP connection, leaving their
 *   sessions detached (for the 80 s TTL). Reports V8's external memory
 *   (where array buffers live) after a warm-up client and after the others.
 * - `close`: a server with an fs root and a client watching a directory
 *   (the inotify instance), closed; reports this process's open fds other
 *   than sockets before the server started and after it closed.
 *
 * @module
 */
import { ExecServer } from "../lib/server/ws_server.ts";
import { NULL_LOGGER } from "../lib/util/mod.ts";
import { openFds, waitUntil } from "./_harness.ts";
import { Opcode, RawSocket } from "./_wire.ts";

async function external(): Promise<number> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error("run with --v8-flags=--expose-gc");
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
  return Deno.memoryUsage().external;
}

/** Connects and initializes; returns the socket and the session id. */
async function client(url: string, name: string): Promise<[RawSocket, string]> {
  const raw = await RawSocket.connect(url);
  await raw.sendJson({ id: 1, method: "initialize", params: { clientName: name } });
  const init = await raw.readJsonUntil((m) => m.id === 1);
  await raw.sendJson({ method: "initialized", params: {} });
  return [raw, (init.result as { sessionId: string }).sessionId];
}

async function call(raw: RawSocket, id: number, method: string, params: unknown) {
  await raw.sendJson({ id, method, params });
  const reply = await raw.readJsonUntil((m) => m.id === id);
  if (!reply.result) throw new Error(`${method}: ${JSON.stringify(reply.error)}`);
  return reply.result;
}

async function detached(dir: string): Promise<unknown> {
  const CLIENTS = 8;
  const file = `${dir}/big`;
  await Deno.writeFile(file, new Uint8Array(600_000).fill(7));
  await using server = await ExecServer.start({ logger: NULL_LOGGER });
  const ids: string[] = [];
  const visit = async (i: number) => {
    const [raw, id] = await client(server.url, `probe${i}`);
    ids.push(id);
    await raw.sendJson({ id: 2, method: "ping", params: {}, pad: "x".repeat(3 << 20) });
    await raw.readJsonUntil((m) => m.id === 2);
    await call(raw, 3, "fs/readFile", { path: file });
    if (i % 2) {
      await raw.sendFrame(Opcode.Close, new Uint8Array([0x03, 0xe8]));
      await raw.readUntilClose();
    }
    raw.close();
  };
  const allDetached = () =>
    server.connections === 0 &&
    ids.every((id) => server.registry?.get(id)?.attachment === null);
  await visit(0);
  await waitUntil(allDetached, { message: "the warm-up session to be detached" });
  const baseline = await external();
  for (let i = 1; i <= CLIENTS; i++) await visit(i);
  await waitUntil(allDetached, { message: "every session to be detached" });
  const after = await external();
  return { clients: CLIENTS, detached: ids.length, baseline, after };
}

async function close(dir: string): Promise<unknown> {
  const before = openFds("self");
  const server = await ExecServer.start({ logger: NULL_LOGGER, fsRoots: [dir] });
  const [raw] = await client(server.url, "probe");
  await call(raw, 2, "fs/watch", { path: dir });
  await call(raw, 3, "fs/readFile", { path: `${dir}/f` });
  const open = openFds("self");
  await server.close();
  await server.close(); // idempotent
  raw.close();
  return { before, open, after: openFds("self") };
}

const dir = await Deno.realPath(await Deno.makeTempDir());
try {
  await Deno.writeTextFile(`${dir}/f`, "hello");
  const scenario = Deno.args[0];
  const result = scenario === "detached"
    ? await detached(dir)
    : scenario === "close"
    ? await close(dir)
    : null;
  if (result === null) throw new Error(`unknown scenario ${scenario}`);
  console.log(JSON.stringify(result));
} finally {
  await Deno.remove(dir, { recursive: true });
}
