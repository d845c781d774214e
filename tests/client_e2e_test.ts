// Copyright 2026 the exec-server authors. MIT license.
// The client library against the real server subprocess, for what needs a
// real socket: the WebSocket connector itself (binary frames on the wire, an
// abrupt TCP cut without a close frame), tokens and TLS. Everything else the
// client does is tested in process, in client_memory_test.ts.
import assert from "node:assert/strict";
import { makeTestPki } from "./_pki.ts";
import { ConnectionClosedError, ExecServerClient } from "../lib/client/mod.ts";
import { CuttableProxy, ServerProcess, waitUntil } from "./_harness.ts";
import { assertStrictOrder, collector, streamText } from "./_events.ts";

const text = (b: Uint8Array) => new TextDecoder().decode(b);
const ENV = { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin" };

Deno.test("ExecServerClient over a real WebSocket: frames, an abrupt TCP cut, resume", async (t) => {
  await using server = await ServerProcess.start();
  await using proxy = new CuttableProxy(server.url);

  for (const binaryOutput of [true, false]) {
    await t.step(`output in strict order (binaryOutput ${binaryOutput})`, async () => {
      await using client = await ExecServerClient.connect({ url: server.url, binaryOutput });
      assert.equal(client.binaryOutput, binaryOutput);
      const proc = await client.start({
        argv: ["sh", "-c", "head -c 200000 /dev/zero; printf oops >&2; exit 4"],
      });
      const { events, done } = collector(proc);
      await done;
      assertStrictOrder(events);
      assert.equal(streamText(events, "stdout"), "\0".repeat(200_000));
      assert.equal(streamText(events, "stderr"), "oops");
      assert.deepEqual(await proc.exited, { exitCode: 4 });
    });
  }

  await t.step("an in-flight long read is replayed after a cut without a close frame", async () => {
    const states: string[] = [];
    await using client = await ExecServerClient.connect({
      url: proxy.url,
      onStateChange: (s) => void states.push(s),
    });
    const proc = await client.start({ argv: ["cat"], pipeStdin: true });
    const read = proc.read({ afterSeq: 0, waitMs: 8000 });
    await proxy.cut();
    await waitUntil(() => states.length === 3 && client.state === "connected", {
      message: "resume",
    });
    assert.deepEqual(states, ["connected", "resuming", "connected"]);
    assert.equal(await proc.write("late\n"), "accepted");
    const r = await read;
    assert.equal(r.failure, null);
    assert.equal(atob(r.chunks[0]!.chunk), "late\n");
    await proc.closeStdin();
    assert.equal((await proc.exited).exitCode, 0);
  });
});

Deno.test("ExecServerClient with a token and over TLS", async (t) => {
  const dir = await Deno.makeTempDir();
  try {
    const token = crypto.randomUUID();
    await Deno.writeTextFile(`${dir}/token`, `${token}\n`);
    await t.step("the token goes in the Authorization header; a wrong one is refused", async () => {
      await using server = await ServerProcess.start(["--token-file", `${dir}/token`]);
      await using client = await ExecServerClient.connect({ url: server.url, token });
      assert.equal(text((await client.exec(["echo", "ok"], { env: ENV })).stdout), "ok\n");
      await assert.rejects(
        ExecServerClient.connect({ url: server.url, token: "wrong" }),
        (e) =>
          e instanceof ConnectionClosedError &&
          /^Cannot connect to exec-server at /.test(e.message),
      );
    });
    await t.step("caCert makes a private CA trusted for wss://", async () => {
      const pki = await makeTestPki(dir);
      await using server = await ServerProcess.start(
        ["--tls-cert", pki.cert, "--tls-key", pki.key, "--token-file", `${dir}/token`],
      );
      assert.match(server.url, /^wss:/);
      const caCert = await Deno.readTextFile(pki.ca);
      await using client = await ExecServerClient.connect({ url: server.url, token, caCert });
      assert.equal(text((await client.exec(["echo", "tls"], { env: ENV })).stdout), "tls\n");
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
