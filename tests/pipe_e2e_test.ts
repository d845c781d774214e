// Copyright 2026 the exec-server authors. MIT license.
// Piped children through a real server over a real socket.
import assert from "node:assert/strict";
import { ServerProcess } from "./_harness.ts";

/** The first messages a fresh server sends for `initialize` and one `process/start` of `echo hi`. */
async function firstStart(): Promise<{ method?: string; id?: number }[]> {
  await using server = await ServerProcess.start();
  const ws = new WebSocket(server.url);
  const got: { method?: string; id?: number }[] = [];
  const closed = Promise.withResolvers<void>();
  ws.onmessage = (e) => {
    const message = JSON.parse(e.data as string);
    got.push(message);
    if (message.method === "process/closed") closed.resolve();
  };
  await new Promise((r) => (ws.onopen = r));
  ws.send(JSON.stringify({ id: 1, method: "initialize", params: { clientName: "order" } }));
  ws.send(JSON.stringify({ method: "initialized", params: {} }));
  ws.send(JSON.stringify({
    id: 2,
    method: "process/start",
    params: {
      processId: "hello",
      argv: ["echo", "hi"],
      cwd: "/",
      env: { PATH: "/usr/bin:/bin" },
      tty: false,
    },
  }));
  const timer = setTimeout(() => closed.reject(new Error("no process/closed in 10 s")), 10_000);
  try {
    await closed.promise;
  } finally {
    clearTimeout(timer);
  }
  ws.close();
  await new Promise((r) => (ws.onclose = r));
  return got;
}

Deno.test("process/start's response goes out before any notification of that process", async () => {
  // The FFI reactor's poll can complete between two microtasks: without
  // holding them back, output, exit and close of a fast first child
  // overtook the start response on about 1 in 3 fresh servers.
  for (let round = 0; round < 5; round++) {
    const results = await Promise.all([firstStart(), firstStart(), firstStart()]);
    for (const got of results) {
      assert.deepEqual(
        got.map((m) => m.method ?? `response ${m.id}`),
        ["response 1", "response 2", "process/output", "process/exited", "process/closed"],
      );
    }
  }
});
