// Copyright 2026 the exec-server authors. MIT license.
// The stdio edge in process, over streams the test holds: when the server
// closes the connection, serving ends even though the input stays open (as
// an ssh session's stdin does), and a stdout nobody reads any more ends it too.
import assert from "node:assert/strict";
import { createServerCore } from "../lib/server/core.ts";
import { serveStdio } from "../lib/server/stdio_server.ts";
import { createLogger } from "../lib/util/logger.ts";

const encoder = new TextEncoder();

/** Resolves with "done" when `p` settles within `ms`, else "hung". */
async function within(p: Promise<unknown>, ms: number): Promise<"done" | "hung"> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hung = new Promise<"hung">((r) => (timer = setTimeout(() => r("hung"), ms)));
  const result = await Promise.race([p.then(() => "done" as const), hung]);
  clearTimeout(timer);
  return result;
}

Deno.test("serveStdio(): a close by the server ends serving while the input stays open", async () => {
  const logs: string[] = [];
  const core = createServerCore({ logger: createLogger("warn", (l) => logs.push(l)) });
  const input = new TransformStream<Uint8Array, Uint8Array>();
  const feed = input.writable.getWriter();
  const out: string[] = [];
  const served = serveStdio(core, {
    input: input.readable,
    output: new WritableStream({ write: (b) => void out.push(new TextDecoder().decode(b)) }),
  });
  await feed.write(encoder.encode('{"id":1,"method":"initialize","params":{"clientName":"t"}}\n'));
  await feed.write(encoder.encode('{"method":"initialized"}\n'));
  // A notification the protocol does not know closes the connection (1008).
  await feed.write(encoder.encode('{"method":"bogus/notification"}\n'));
  assert.equal(await within(served, 5000), "done", "serving ended without the input ending");
  assert.match(logs.join("\n"), /stdio: closing: unexpected notification bogus\/notification/);
  assert.equal(core.registry.size, 0, "the session ended with the connection");
  await feed.close().catch(() => {});
});

Deno.test("serveStdio(): a connection that never initializes is closed after the deadline", async () => {
  const logs: string[] = [];
  const core = createServerCore({
    logger: createLogger("warn", (l) => logs.push(l)),
    initializeTimeoutMs: 50,
  });
  const input = new TransformStream<Uint8Array, Uint8Array>();
  const served = serveStdio(core, { input: input.readable, output: new WritableStream() });
  assert.equal(await within(served, 5000), "done");
  assert.match(logs.join("\n"), /stdio: closing: no initialize within 0.05 s/);
  await input.writable.close().catch(() => {});
});

Deno.test("serveStdio(): an output that fails (the peer is gone) ends serving", async () => {
  const core = createServerCore({ logger: createLogger("silent", () => {}) });
  const input = new TransformStream<Uint8Array, Uint8Array>();
  const feed = input.writable.getWriter();
  const served = serveStdio(core, {
    input: input.readable,
    output: new WritableStream({
      write() {
        throw new Error("EPIPE");
      },
    }),
  });
  await feed.write(encoder.encode('{"id":1,"method":"initialize","params":{"clientName":"t"}}\n'));
  assert.equal(await within(served, 5000), "done");
  assert.equal(core.registry.size, 0);
  await feed.close().catch(() => {});
});
