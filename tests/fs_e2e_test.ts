// Copyright 2026 the exec-server authors. MIT license.
// fs/* over a real socket: lifecycle gating, chunked transfer, confinement,
// and a watch that survives a resume.
import assert from "node:assert/strict";
import { CuttableProxy, ResponseError, ServerProcess, TestClient, waitUntil } from "./_harness.ts";
import { sha256HexAsync } from "../lib/util/sha256.ts";

/** Resumes `sessionId` on a new connection, retrying while the server has not noticed the drop. */
async function resume(url: string, sessionId: string): Promise<TestClient> {
  for (let i = 0; i < 200; i++) {
    const attempt = await TestClient.connect(url, { initialize: false });
    try {
      await attempt.initialize(sessionId);
      return attempt;
    } catch (err) {
      await attempt.close();
      if (!(err instanceof ResponseError) || err.code !== -32010) throw err;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  throw new Error(`could not resume ${sessionId}`);
}

Deno.test("fs/* over the wire", async (t) => {
  const dir = await Deno.realPath(await Deno.makeTempDir());
  const outside = await Deno.realPath(await Deno.makeTempDir());
  await using server = await ServerProcess.start(["--fs-root", dir, "--session-ttl", "5"]);
  await using c = await TestClient.connect(server.url);

  await t.step("fs calls before initialize name filesystem methods", async () => {
    await using raw = await TestClient.connect(server.url, { initialize: false });
    const r = await raw.call("fs/getMetadata", { path: dir });
    assert.equal(r.error.message, "client must call initialize before using filesystem methods");
  });

  await t.step("64 MB chunked round trip with a checksum", async () => {
    const data = new Uint8Array(64 * 1024 * 1024);
    for (let off = 0; off < data.length; off += 65536) {
      crypto.getRandomValues(data.subarray(off, off + 65536));
    }
    const path = `${dir}/big.bin`;
    const chunk = 4 * 1024 * 1024;
    for (let off = 0; off < data.length; off += chunk) {
      await c.request("fs/writeFile", {
        path,
        dataBase64: data.subarray(off, off + chunk).toBase64(),
        append: off > 0,
      });
    }
    const parts: Uint8Array[] = [];
    let offset = 0;
    for (;;) {
      const r = await c.request("fs/readFile", { path, offset, length: chunk });
      const bytes = Uint8Array.fromBase64(r.dataBase64);
      parts.push(bytes);
      offset += bytes.byteLength;
      assert.equal(r.size, data.length);
      if (r.eof) break;
    }
    const back = new Uint8Array(offset);
    let o = 0;
    for (const p of parts) {
      back.set(p, o);
      o += p.byteLength;
    }
    assert.equal(await sha256HexAsync(back), await sha256HexAsync(data));
    const whole = await c.call("fs/readFile", { path });
    assert.equal(whole.error.code, -32600);
    assert.match(whole.error.message, /offset and length/);
    await c.request("fs/remove", { path });
  });

  await t.step(
    "many concurrent whole-file reads do not all sit in server memory at once",
    async () => {
      const path = `${dir}/six-mb.bin`;
      await Deno.writeFile(path, new Uint8Array(6 * 1024 * 1024).fill(7));
      const replies = await Promise.all(
        Array.from({ length: 30 }, () => c.request("fs/readFile", { path })),
      );
      assert.ok(replies.every((r) => r.size === 6 * 1024 * 1024 && r.eof));
      const status = await Deno.readTextFile(`/proc/${server.pid}/status`);
      const peakMb = Number(/VmHWM:\s+(\d+) kB/.exec(status)![1]) / 1024;
      // Unbounded, 30 replies of 6 MB (plus base64 and JSON copies) would need well over 600 MB.
      assert.ok(peakMb < 450, `server peak RSS ${peakMb.toFixed(0)} MB`);
      await Deno.remove(path);
    },
  );

  await t.step(
    "not found is -32004; a relative path is -32602; escapes are not permitted",
    async () => {
      const missing = await c.call("fs/getMetadata", { path: `${dir}/missing` });
      assert.equal(missing.error.code, -32004);
      const rel = await c.call("fs/readFile", { path: "relative/x" });
      assert.equal(rel.error.code, -32602);
      await Deno.writeTextFile(`${outside}/secret`, "s");
      await Deno.symlink(outside, `${dir}/link`);
      const escape = await c.call("fs/readFile", { path: `${dir}/link/secret` });
      assert.equal(escape.error.code, -32600);
      assert.match(escape.error.message, /is not permitted/);
      assert.ok(escape.error.message.includes(dir), "names the root");
    },
  );

  await t.step("a watch survives a resume and its events reach the new connection", async () => {
    await using proxy = new CuttableProxy(server.url);
    const c1 = await TestClient.connect(proxy.url);
    const { watchId } = await c1.request("fs/watch", { path: dir, recursive: false });
    await Deno.writeTextFile(`${dir}/one.txt`, "1");
    await c1.waitFor((m) =>
      m.method === "fs/changed" && m.params.paths.some((p: string) => p.endsWith("one.txt"))
    );
    await proxy.cut();
    await c1.closed;
    const c2 = await resume(server.url, c1.sessionId);
    await Deno.writeTextFile(`${dir}/two.txt`, "2");
    const ev = await c2.waitFor((m) =>
      m.method === "fs/changed" && m.params.paths.some((p: string) => p.endsWith("two.txt"))
    );
    assert.equal(ev.params.watchId, watchId);
    assert.deepEqual(await c2.request("fs/unwatch", { watchId }), {});
    await c2.close();
  });

  await t.step("file handles and the missing-path watch survive a resume", async () => {
    await Deno.writeTextFile(`${dir}/read.txt`, "abc");
    await Deno.writeTextFile(`${dir}/target.txt`, "old");
    await using proxy = new CuttableProxy(server.url);
    const c1 = await TestClient.connect(proxy.url);
    await c1.request("fs/open", { handleId: "r", path: `${dir}/read.txt` });
    await c1.request("fs/open", {
      handleId: "w",
      path: `file://${dir}/target.txt`,
      mode: "replace",
    });
    await c1.request("fs/writeBlock", { handleId: "w", offset: 0, chunk: btoa("ne") });
    assert.deepEqual(
      await c1.request("fs/watchMissing", { watchId: 1, missing: [`${dir}/appears`] }),
      { watching: true },
    );
    await proxy.cut();
    await c1.closed;
    await using c2 = await resume(server.url, c1.sessionId);
    assert.deepEqual(await c2.request("fs/readBlock", { handleId: "r", offset: 1, len: 5 }), {
      chunk: btoa("bc"),
      eof: true,
    });
    await c2.request("fs/writeBlock", { handleId: "w", offset: 2, chunk: btoa("w") });
    assert.equal(await Deno.readTextFile(`${dir}/target.txt`), "old");
    await c2.request("fs/close", { handleId: "w" });
    assert.equal(await Deno.readTextFile(`${dir}/target.txt`), "new");
    await Deno.writeTextFile(`${dir}/appears`, "");
    const fired = await c2.waitFor((m) => m.method === "fs/missingChanged");
    assert.deepEqual(fired.params, { watchId: 1 });
    await c2.request("fs/close", { handleId: "r" });
  });

  await Deno.remove(dir, { recursive: true });
  await Deno.remove(outside, { recursive: true });
});

Deno.test("a session that ends drops its replace handles and leaves the file as it was", async () => {
  const dir = await Deno.realPath(await Deno.makeTempDir());
  await Deno.writeTextFile(`${dir}/target.txt`, "old");
  await using server = await ServerProcess.start(["--fs-root", dir, "--session-ttl", "0.2"]);
  const c = await TestClient.connect(server.url);
  await c.request("fs/open", { handleId: "w", path: `${dir}/target.txt`, mode: "replace" });
  await c.request("fs/writeBlock", { handleId: "w", offset: 0, chunk: btoa("partial") });
  await c.close();
  const left = async () => {
    const names: string[] = [];
    for await (const e of Deno.readDir(dir)) names.push(e.name);
    return names;
  };
  await waitUntil(async () => (await left()).length === 1, {
    message: "the temporary file to be removed",
  });
  assert.equal(await Deno.readTextFile(`${dir}/target.txt`), "old");
  await Deno.remove(dir, { recursive: true });
});
