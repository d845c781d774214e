// Copyright 2026 the exec-server authors. MIT license.
// JSON-RPC envelope and lifecycle rules, over a real socket.
import assert from "node:assert/strict";
import { ServerProcess, TestClient } from "./_harness.ts";

const START = { processId: "p", argv: ["true"], cwd: "/tmp", env: {}, tty: false };

Deno.test("lifecycle and envelope rules", async (t) => {
  await using server = await ServerProcess.start([
    "--max-processes",
    "3",
    "--max-message-bytes",
    "4096",
  ]);

  await t.step("serve prints exactly the URL on stdout", () => {
    assert.match(server.url, /^ws:\/\/127\.0\.0\.1:\d+$/);
  });

  await t.step("GET /readyz answers 200; a plain GET gets 426", async () => {
    const ready = await fetch(`${server.httpUrl}/readyz`);
    assert.equal(ready.status, 200);
    await ready.body?.cancel();
    const plain = await fetch(`${server.httpUrl}/`);
    assert.equal(plain.status, 426);
    await plain.body?.cancel();
  });

  await t.step("process calls before initialize and before initialized are -32600", async () => {
    await using c = await TestClient.connect(server.url, { initialize: false });
    const before = await c.call("process/start", START);
    assert.equal(before.error.code, -32600);
    assert.equal(before.error.message, "client must call initialize before using exec methods");
    const init = await c.request("initialize", { clientName: "t" });
    assert.match(
      init.sessionId,
      /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
    const early = await c.call("process/list", {});
    assert.equal(early.error.code, -32600);
    assert.equal(early.error.message, "client must send initialized before using exec methods");
    const again = await c.call("initialize", { clientName: "t" });
    assert.equal(again.error.code, -32600);
    assert.equal(again.error.message, "initialize may only be sent once per connection");
    c.notify("initialized", {});
    assert.deepEqual(await c.request("process/list"), { processes: [] });
  });

  await t.step("malformed JSON gets id -1, -32600, and the connection stays open", async () => {
    await using c = await TestClient.connect(server.url);
    c.sendRaw("{not json");
    const err = await c.waitUntil(() => c.stray.find((m) => m.id === -1), 5000, "error -1");
    assert.equal(err.error.code, -32600);
    assert.match(err.error.message, /^failed to parse JSON-RPC message from websocket /);
    assert.deepEqual(await c.request("process/list"), { processes: [] });
  });

  await t.step(
    "binary frames carry JSON too; jsonrpc 2.0 and string ids are accepted",
    async () => {
      await using c = await TestClient.connect(server.url);
      const done = c.waitUntil(() => c.stray.find((m) => m.id === "abc"), 5000, "reply abc");
      c.sendRaw(
        new TextEncoder().encode(
          JSON.stringify({ jsonrpc: "2.0", id: "abc", method: "process/list" }),
        ),
      );
      const reply = await done;
      assert.deepEqual(reply.result, { processes: [] });
    },
  );

  await t.step("unknown method is -32601; bad params are -32602 naming the field", async () => {
    await using c = await TestClient.connect(server.url);
    const unknown = await c.call("process/fly", {});
    assert.equal(unknown.error.code, -32601);
    const bad = await c.call("process/start", { ...START, tty: "yes" });
    assert.equal(bad.error.code, -32602);
    assert.match(bad.error.message, /process\/start: tty:/);
    const nested = await c.call("process/start", { ...START, env: { A: 1 } });
    assert.match(nested.error.message, /env\.A:/);
  });

  await t.step("an unexpected notification closes the connection", async () => {
    await using c = await TestClient.connect(server.url);
    c.notify("process/whatever", {});
    const closed = await c.closed;
    assert.equal(closed.code, 1008);
    assert.match(closed.reason, /unexpected notification/);
  });

  await t.step("a long multi-byte notification name closes only that connection", async () => {
    const c = await TestClient.connect(server.url);
    c.notify("é".repeat(100), {});
    const closed = await c.closed;
    assert.equal(closed.code, 1008);
    assert.ok(new TextEncoder().encode(closed.reason).length <= 123);
    await using fresh = await TestClient.connect(server.url);
    assert.deepEqual(await fresh.request("process/list"), { processes: [] });
  });

  await t.step("a processId over 1024 characters is -32602", async () => {
    await using c = await TestClient.connect(server.url);
    const r = await c.call("process/start", { ...START, processId: "x".repeat(1025) });
    assert.equal(r.error.code, -32602);
    assert.match(r.error.message, /processId must be at most 1024 characters/);
  });

  await t.step("initialized before initialize closes the connection", async () => {
    await using c = await TestClient.connect(server.url, { initialize: false });
    c.notify("initialized", {});
    assert.equal((await c.closed).code, 1008);
  });

  await t.step("a response sent by the client closes the connection", async () => {
    await using c = await TestClient.connect(server.url);
    c.sendRaw(JSON.stringify({ id: 5, result: {} }));
    assert.equal((await c.closed).code, 1008);
  });

  await t.step("invalid ids and non-object messages get -32600 with id -1", async () => {
    await using c = await TestClient.connect(server.url);
    c.sendRaw(JSON.stringify({ id: 1.5, method: "process/list" }));
    c.sendRaw("[]");
    c.sendRaw("42");
    await c.waitUntil(
      () => c.stray.filter((m) => m.id === -1).length === 3 || undefined,
      5000,
      "3 errors",
    );
    for (const m of c.stray) assert.equal(m.error.code, -32600);
    assert.deepEqual(await c.request("process/list"), { processes: [] });
  });

  await t.step("a frame over --max-message-bytes closes with 1009 and a reason", async () => {
    await using c = await TestClient.connect(server.url);
    c.sendRaw(JSON.stringify({ id: 1, method: "process/list", params: { pad: "x".repeat(5000) } }));
    const closed = await c.closed;
    assert.equal(closed.code, 1009);
    assert.match(closed.reason, /exceeds the limit of 4096/);
  });

  await t.step("more than --max-processes in a session is -32600 with a message", async () => {
    await using c = await TestClient.connect(server.url);
    for (const id of ["a", "b", "c"]) await c.start(id, ["sleep", "5"]);
    const over = await c.call("process/start", { ...START, processId: "d" });
    assert.equal(over.error.code, -32600);
    assert.match(over.error.message, /too many processes in this session: the limit is 3/);
    for (const id of ["a", "b", "c"]) await c.request("process/terminate", { processId: id });
  });

  await t.step("long-poll reads do not hold up other requests on the connection", async () => {
    await using c = await TestClient.connect(server.url);
    await c.start("idle", ["sleep", "5"]);
    const read = c.call("process/read", { processId: "idle", waitMs: 3000 });
    const t0 = performance.now();
    await c.request("process/list");
    assert.ok(performance.now() - t0 < 1000, "list answered while the read waits");
    await c.request("process/terminate", { processId: "idle" });
    const r = await read;
    assert.equal(r.result.exited, true);
  });

  await t.step(
    "fs/open takes a mode as a string or as serde's object; anything else says which",
    async () => {
      await using c = await TestClient.connect(server.url);
      const open = (handleId: string, mode: unknown) =>
        c.call("fs/open", { handleId, path: "/etc/hostname", mode });
      assert.deepEqual((await open("a", "read")).result, { handleId: "a" });
      assert.deepEqual((await open("b", { read: null })).result, { handleId: "b" });
      for (const mode of ["READ", null, { read: {} }, { read: null, replace: null }]) {
        assert.deepEqual((await open("c", mode)).error, {
          code: -32602,
          message: 'invalid params for fs/open: mode: expected "read" or "replace" ' +
            '(or serde\'s {"read": null} / {"replace": null})',
        }, JSON.stringify(mode));
      }
    },
  );
});

Deno.test("serve --help documents every flag and a bad flag exits 2", async () => {
  const run = (args: string[]) =>
    new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", new URL("../main.ts", import.meta.url).pathname, ...args],
      stdout: "piped",
      stderr: "piped",
    }).output();
  const help = await run(["serve", "--help"]);
  assert.equal(help.code, 0);
  const out = new TextDecoder().decode(help.stdout);
  const source = await Deno.readTextFile(new URL("../lib/cli/serve.ts", import.meta.url));
  const block = source.slice(source.indexOf("options: {"), source.indexOf("help: { type"));
  const flags = [...block.matchAll(/"([a-z-]+)": \{ type/g)].map((m) => m[1]);
  assert.ok(flags.length >= 15);
  for (const flag of flags) assert.ok(out.includes(`--${flag}`), `--help mentions --${flag}`);
  const bad = await run(["serve", "--nope"]);
  assert.equal(bad.code, 2);
  assert.match(new TextDecoder().decode(bad.stderr), /--nope/);
  const badListen = await run(["serve", "--listen", "ws://localhost:1"]);
  assert.equal(badListen.code, 2);
  assert.match(new TextDecoder().decode(badListen.stderr), /expected `ws:\/\/IP:PORT`/);
});

Deno.test("SIGTERM shuts down: process groups terminated, sockets closed with 1001", async () => {
  const server = await ServerProcess.start();
  const c = await TestClient.connect(server.url);
  await c.start("bg", ["sh", "-c", "sleep 100 & echo $!; wait"]);
  const pid = await c.waitUntil(
    () => {
      const s = new TextDecoder().decode(c.outputOf("bg")).trim();
      return s ? Number(s) : undefined;
    },
    5000,
    "pid",
  );
  const status = await server.stop("SIGTERM");
  assert.equal(status.code, 0);
  assert.equal((await c.closed).code, 1001);
  await server[Symbol.asyncDispose]();
  const { isGone } = await import("./_harness.ts");
  assert.ok(isGone(pid), "the background child is gone");
  assert.equal(server.stdoutExtra, "", "nothing but the URL on stdout");
});

Deno.test("process ids must be well-formed Unicode: a lone surrogate is -32602 (issue 15 row 16)", async () => {
  // Binary output frames carry the id as UTF-8, where every lone surrogate
  // becomes U+FFFD: "a\ud800" and "a\udbff" would be one id to such a client.
  await using server = await ServerProcess.start([]);
  await using c = await TestClient.connect(server.url, { binaryOutput: true });
  for (const id of ["a\ud800", "a\udbff", "\udc00b", "x\ud83d"]) {
    const r = await c.call("process/start", { ...START, processId: id });
    assert.equal(r.error?.code, -32602, JSON.stringify(id));
    assert.equal(
      r.error.message,
      "invalid params for process/start: processId: processId must be well-formed Unicode (no lone surrogates)",
    );
    const read = await c.call("process/read", { processId: id });
    assert.equal(read.error?.code, -32602);
  }
  // A well-formed astral id is fine and arrives intact in a binary frame.
  const id = "emoji-\ud83d\ude00";
  await c.start(id, ["echo", "hi"]);
  await c.waitUntil(() => c.frames.find((f) => f.processId === id), 10_000, "a frame");
  assert.equal(c.frames.find((f) => f.processId === id)!.processId, id);
  await c.untilClosed(id);
});
