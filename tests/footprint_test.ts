// Copyright 2026 the exec-server authors. MIT license.
// What a server holds before and while it is used (issue 18, memory): the
// idle `serve` loads no core, no protocol schemas (zod), no host or fs
// layer and no containment (nor libc), whose choice is made at the first
// start; the core loads the host and fs layers on their first call; the
// first connections of a burst, arriving while the core loads, still obey
// --max-connections; per-process and per-connection buffers stay small.
import assert from "node:assert/strict";
import { ServerProcess, TestClient } from "./_harness.ts";
import { RawSocket } from "./_wire.ts";
import { ReadBuffer } from "../lib/process/reactor_child.ts";
import { FRAME_HEADROOM } from "../lib/protocol/binary_frame.ts";
import { DEFAULT_SESSION_TTL_SECONDS } from "../lib/cli/serve.ts";
import { DEFAULT_SESSION_TTL_MS } from "../lib/server/session.ts";

const ROOT = new URL("../", import.meta.url);

interface GraphModule {
  specifier: string;
  dependencies?: { code?: { specifier: string }; isDynamic?: boolean }[];
}

/** The modules `entry` loads through static imports only (dynamic ones load later, if ever). */
async function staticClosure(entry: string): Promise<Set<string>> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", new URL(entry, ROOT).pathname],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  const graph = JSON.parse(new TextDecoder().decode(out.stdout)) as {
    roots: string[];
    modules: GraphModule[];
    redirects: Record<string, string>;
  };
  const bySpecifier = new Map(graph.modules.map((m) => [m.specifier, m]));
  const resolve = (s: string) => graph.redirects[s] ?? s;
  const seen = new Set<string>();
  const stack = graph.roots.map(resolve);
  while (stack.length > 0) {
    const s = stack.pop()!;
    if (seen.has(s)) continue;
    seen.add(s);
    for (const dep of bySpecifier.get(s)?.dependencies ?? []) {
      if (dep.code && !dep.isDynamic) stack.push(resolve(dep.code.specifier));
    }
  }
  return new Set([...seen].map((s) => s.replace(ROOT.href, "")));
}

const has = (closure: Set<string>, pattern: RegExp) => [...closure].filter((s) => pattern.test(s));

Deno.test("serve loads no core, no zod and no host or fs layer before the first client", async () => {
  // `serve` loads the WebSocket edge for a ws:// --listen, at start.
  const closure = new Set([
    ...await staticClosure("main.ts"),
    ...await staticClosure("lib/server/ws_server.ts"),
  ]);
  assert.ok(closure.has("lib/server/ws_socket.ts"), "the WebSocket edge itself is there");
  for (
    const pattern of [
      /zod/,
      /^lib\/server\/(core|connection|session|process_handlers)\.ts$/,
      /^lib\/protocol\/(process|methods|fs|sandbox|host|environment)\.ts$/,
      /^lib\/(fs|host|sandbox|client\/(client|rpc))\//,
      // No node: module at all: the first (node:util) cost an idle server over 1 MB.
      /^node:/,
      /smol-toml/,
      /^lib\/process\/(reactor|pipe_ffi|pty)\.ts$/,
      // Containment (and libc through FFI, about 3 MB) loads with the first start.
      /^lib\/process\/(tree|cgroup|sysfs|ffi_libc|spawn_ffi)\.ts$/,
    ]
  ) {
    assert.deepEqual(has(closure, pattern), [], `serve loads ${pattern} at start`);
  }
});

Deno.test("the core loads the host and fs layers on their first call, not with it", async () => {
  const closure = await staticClosure("lib/server/core.ts");
  assert.ok(closure.has("lib/server/connection.ts"));
  for (
    const pattern of [
      /^lib\/host\/(http|config|toml)\.ts$/,
      /^node:(http|https|zlib)$/,
      /smol-toml/,
      /^lib\/fs\/(service|watch|walk|writes|handles|watch_missing)\.ts$/,
    ]
  ) {
    assert.deepEqual(has(closure, pattern), [], `the core loads ${pattern} with it`);
  }
});

Deno.test("a burst of first connections, while the core loads, gets --max-connections and 503s", async () => {
  await using server = await ServerProcess.start(["--max-connections", "2"]);
  const sockets = await Promise.all(
    Array.from({ length: 6 }, () => RawSocket.connect(server.url)),
  );
  try {
    const statuses = sockets.map((s) => s.handshake.status).sort();
    assert.deepEqual(statuses, [101, 101, 503, 503, 503, 503]);
  } finally {
    for (const s of sockets) await s[Symbol.asyncDispose]();
  }
  await using client = await TestClient.connect(server.url);
  assert.deepEqual(await client.request("process/list"), { processes: [] });
});

Deno.test("containment is chosen, and logged, when the first process starts", async () => {
  const idle = await ServerProcess.start();
  {
    await using client = await TestClient.connect(idle.url);
    assert.deepEqual(await client.request("process/list"), { processes: [] });
  }
  await idle.stop();
  assert.doesNotMatch(
    await idle.stderr(),
    /containment:/,
    "a server that started nothing chose none",
  );
  const used = await ServerProcess.start();
  {
    await using client = await TestClient.connect(used.url);
    await client.start("t", ["true"]);
    await client.untilClosed("t");
    await client.start("u", ["true"]);
    await client.untilClosed("u");
  }
  await used.stop();
  const lines = (await used.stderr()).split("\n").filter((l) => /containment:/.test(l));
  assert.equal(lines.length, 1, `one choice for two starts: ${lines.join(" | ")}`);
  assert.match(lines[0]!, /INFO containment: (cgroup|subreaper|group): /);
});

Deno.test("serve's --session-ttl default is the core's", () => {
  assert.equal(DEFAULT_SESSION_TTL_SECONDS * 1000, DEFAULT_SESSION_TTL_MS);
});

Deno.test("ReadBuffer: one buffer for every read; copies small reads, hands out large ones", () => {
  const rb = new ReadBuffer(64 * 1024);
  const first = rb.view(64 * 1024);
  assert.equal(first.byteOffset, FRAME_HEADROOM);
  assert.equal(rb.view(4096).byteLength, 4096, "a smaller read gets a smaller view");
  first.fill(7, 0, 100);
  const small = rb.take(100);
  assert.equal(small.byteLength, 100);
  assert.notEqual(small.buffer, first.buffer, "a small read is copied out");
  assert.equal(rb.view(10).buffer, first.buffer, "and the read buffer is kept");
  const mid = rb.take(20 * 1024);
  assert.notEqual(mid.buffer, first.buffer, "a middle-sized read is copied too");
  assert.equal(mid.byteOffset, FRAME_HEADROOM, "with headroom for a frame header");
  const large = rb.take(60 * 1024);
  assert.equal(large.buffer, first.buffer, "a large read is handed out in place");
  assert.notEqual(rb.view(10).buffer, first.buffer, "and the next read gets a new buffer");
});
