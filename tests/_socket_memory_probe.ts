// Copyright 2026 the exec-server authors. MIT license.
/**
 * What a detached session costs in memory, run by tests/ws_socket_test.ts
 * as `deno run -A --v8-flags=--expose-gc tests/_socket_memory_probe.ts` (a
 * process of its own, which can collect garbage on demand); prints one JSON
 * object.
 *
 * A server in this process; clients that each send a 3 MiB message (read
 * into the socket's reused payload array) and read a reply of about 800 KB
 * (through the socket's write batch), then go away, half with a close
 * handshake and half by dropping the TCP connection, leaving their sessions
 * detached (for the 80 s TTL). Reports V8's external memory (where array
 * buffers live) after a warm-up client and after the others.
 *
 * @module
 */
import { ExecServer } from "../lib/server/ws_server.ts";
import { NULL_LOGGER } from "../lib/util/mod.ts";
import { waitUntil } from "./_harness.ts";
import { Opcode, RawSocket } from "./_wire.ts";

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error("run with --v8-flags=--expose-gc");

async function external(): Promise<number> {
  for (let i = 0; i < 3; i++) {
    gc!();
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
  return Deno.memoryUsage().external;
}

const CLIENTS = 8;
const dir = await Deno.makeTempDir();
try {
  const file = `${dir}/big`;
  await Deno.writeFile(file, new Uint8Array(600_000).fill(7));
  await using server = await ExecServer.start({ logger: NULL_LOGGER });
  const ids: string[] = [];

  const visit = async (i: number) => {
    const raw = await RawSocket.connect(server.url);
    await raw.sendJson({ id: 1, method: "initialize", params: { clientName: `probe${i}` } });
    const init = await raw.readJsonUntil((m) => m.id === 1);
    ids.push((init.result as { sessionId: string }).sessionId);
    await raw.sendJson({ method: "initialized", params: {} });
    await raw.sendJson({ id: 2, method: "ping", params: {}, pad: "x".repeat(3 << 20) });
    await raw.readJsonUntil((m) => m.id === 2);
    await raw.sendJson({ id: 3, method: "fs/readFile", params: { path: file } });
    const read = await raw.readJsonUntil((m) => m.id === 3);
    if (!read.result) throw new Error(`fs/readFile: ${JSON.stringify(read.error)}`);
    if (i % 2) {
      await raw.sendFrame(Opcode.Close, new Uint8Array([0x03, 0xe8]));
      await raw.readUntilClose();
    }
    raw.close();
  };
  const detached = () =>
    server.connections === 0 &&
    ids.every((id) => server.registry?.get(id)?.attachment === null);

  await visit(0);
  await waitUntil(detached, { message: "the warm-up session to be detached" });
  const baseline = await external();
  for (let i = 1; i <= CLIENTS; i++) await visit(i);
  await waitUntil(detached, { message: "every session to be detached" });
  const after = await external();
  console.log(JSON.stringify({ clients: CLIENTS, detached: ids.length, baseline, after }));
} finally {
  await Deno.remove(dir, { recursive: true });
}
